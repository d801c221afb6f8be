// The device list: filters, search, sort and page in the URL; pagination on the server.
import { useEffect } from 'preact/hooks';
import { api, clientNames, type Device, type Page, qs } from '../api';
import { useLiveEvents } from '../live';
import { navigate, useLocation, withQuery } from '../router';
import {
  FilterBar,
  type FilterSpec,
  PagedList,
  pageOf,
  PresenceBadge,
  SearchBox,
  StatusBadge,
  useAsync,
  useDebounced,
} from '../components/ui';
import { ago } from '../format';

const limit = 50;

const filters: FilterSpec[] = [
  {
    name: 'status',
    label: 'Status',
    options: [
      ['', 'Any status'],
      ['critical', 'Critical'],
      ['warning', 'Warning'],
      ['unknown', 'Unknown'],
      ['ok', 'OK'],
      ['none', 'No data yet'],
    ],
  },
  {
    name: 'presence',
    label: 'Presence',
    options: [
      ['', 'Online or not'],
      ['online', 'Online'],
      ['offline', 'Offline'],
      ['never', 'Never seen'],
    ],
  },
  {
    name: 'kind',
    label: 'Kind',
    options: [
      ['', 'Servers and workstations'],
      ['server', 'Servers'],
      ['workstation', 'Workstations'],
    ],
  },
  {
    name: 'sort',
    label: 'Sort by',
    options: [
      ['', 'Hostname'],
      ['-failing_checks', 'Most failing checks'],
      ['-last_seen_at', 'Recently seen'],
      ['last_seen_at', 'Longest unseen'],
      ['-enrolled_at', 'Newest'],
    ],
  },
];

const passed = ['q', 'client_id', 'site_id', 'status', 'presence', 'kind', 'sort'];

export function DevicesPage({ portal = false }: { portal?: boolean }) {
  const loc = useLocation();
  const page = pageOf(loc);
  const params: Record<string, string | number> = { limit, offset: (page - 1) * limit };
  for (const k of passed) {
    const v = loc.query.get(k);
    if (v) params[k] = v;
  }
  const query = qs(params);
  useEffect(() => {
    document.title = 'Devices · Vigil';
  }, []);
  const list = useAsync((signal) => api<Page<Device>>('GET', `/devices${query}`, undefined, { signal }), [query]);
  const names = useAsync((signal) => (portal ? Promise.resolve(new Map()) : clientNames(signal)), [portal]);
  const refresh = useDebounced(list.reload, 1000);
  useLiveEvents(() => refresh(), [refresh]);

  const clientId = loc.query.get('client_id');
  const siteId = loc.query.get('site_id');
  return (
    <section>
      <div class="page-head">
        <h1>Devices</h1>
        <SearchBox loc={loc} label="Search hostname or OS" onSearch={navigate} />
      </div>
      <FilterBar loc={loc} filters={filters}>
        {(clientId || siteId) && (
          <p class="chips">
            {clientId && (
              <span class="chip">
                Client: {names.data?.get(Number(clientId)) ?? `#${clientId}`}{' '}
                <a href={withQuery(loc, { client_id: null, site_id: null })} aria-label="Remove the client filter">
                  ×
                </a>
              </span>
            )}
            {siteId && (
              <span class="chip">
                Site #{siteId}{' '}
                <a href={withQuery(loc, { site_id: null })} aria-label="Remove the site filter">
                  ×
                </a>
              </span>
            )}
          </p>
        )}
      </FilterBar>
      <PagedList list={list} loc={loc} limit={limit} what="The device list" empty="No device matches these filters.">
        {(items) => <DeviceTable devices={items} names={names.data} portal={portal} />}
      </PagedList>
    </section>
  );
}

export function DeviceTable({
  devices,
  names,
  portal = false,
}: {
  devices: Device[];
  names?: Map<number, string>;
  portal?: boolean;
}) {
  const base = portal ? '/portal/devices' : '/devices';
  return (
    <div class="table-wrap">
      <table class="data devices">
        <thead>
          <tr>
            <th scope="col">Device</th>
            {names && !portal && <th scope="col">Client</th>}
            <th scope="col">Status</th>
            <th scope="col" class="num">Failing</th>
            <th scope="col">Presence</th>
            <th scope="col">Last seen</th>
            <th scope="col" class="wide-only">OS</th>
          </tr>
        </thead>
        <tbody>
          {devices.map((d) => (
            <tr key={d.id} data-device={d.id}>
              <th scope="row">
                <a href={`${base}/${d.id}`}>{d.hostname || `Device ${d.id}`}</a>
                <span class="muted kind"> {d.kind}</span>
              </th>
              {names && !portal && <td>{names.get(d.client_id) ?? `#${d.client_id}`}</td>}
              <td>
                <StatusBadge status={d.status} />
              </td>
              <td class="num">{d.failing_checks}</td>
              <td>
                <PresenceBadge presence={d.presence} />
              </td>
              <td>{ago(d.last_seen_at)}</td>
              <td class="wide-only">{d.os}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
