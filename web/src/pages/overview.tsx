// The fleet at a glance: how many devices are online, offline and failing, per client and site.
// Every count is a link to the device list behind it (the same filters, in the URL).
import { useEffect } from 'preact/hooks';
import { api, type Device, type FleetCounts, type FleetSummary, type Page, qs } from '../api';
import { useLiveEvents } from '../live';
import { navigate, useLocation } from '../router';
import { LoadError, Loading, SearchBox, StatusBadge, useAsync, useDebounced } from '../components/ui';
import { DeviceTable } from './devices';

type Filter = Record<string, string | number | null | undefined>;
const devicesUrl = (f: Filter) => `/devices${qs(f)}`;

function Count({ n, filter, label }: { n: number; filter: Filter; label: string }) {
  if (n === 0) return <span class="count zero">0</span>;
  return (
    <a class="count" href={devicesUrl(filter)} aria-label={`${n} ${label}`}>
      {n}
    </a>
  );
}

const cards: [keyof FleetCounts, string, Filter][] = [
  ['devices', 'Devices', {}],
  ['online', 'Online', { presence: 'online' }],
  ['offline', 'Offline', { presence: 'offline' }],
  ['critical', 'Critical', { status: 'critical' }],
  ['warning', 'Warning', { status: 'warning' }],
  ['unknown', 'Unknown', { status: 'unknown' }],
];

export function OverviewPage() {
  const loc = useLocation();
  useEffect(() => {
    document.title = 'Overview · Vigil';
  }, []);
  const summary = useAsync((signal) => api<FleetSummary>('GET', '/fleet/summary', undefined, { signal }), []);
  const attention = useAsync(
    (signal) =>
      api<Page<Device>>('GET', '/devices?sort=-failing_checks&limit=10', undefined, { signal }),
    [],
  );
  const refresh = useDebounced(() => {
    summary.reload();
    attention.reload();
  }, 1000);
  useLiveEvents(() => refresh(), [refresh]);

  if (summary.error) return <LoadError error={summary.error} what="The overview" />;
  if (!summary.data) return <Loading />;
  const { totals, groups } = summary.data;
  const failing = (attention.data?.items ?? []).filter((d) => d.failing_checks > 0);
  return (
    <section>
      <div class="page-head">
        <h1>Fleet overview</h1>
        <SearchBox loc={{ ...loc, path: '/devices' }} label="Search devices" onSearch={navigate} />
      </div>
      <ul class="cards" aria-label="Totals">
        {cards.map(([key, label, filter]) => (
          <li key={key} class={`card stat stat-${key}`}>
            <span class="stat-label">{label}</span>
            <Count n={totals[key]} filter={filter} label={`${label.toLowerCase()} devices`} />
          </li>
        ))}
      </ul>

      <h2>By client and site</h2>
      {groups.length === 0 ? (
        <p class="muted">
          No devices yet. Create an enrollment token for a client (<code>vigil enrollment-tokens create</code>) and
          enroll an agent.
        </p>
      ) : (
        <div class="table-wrap">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col">Site</th>
                <th scope="col" class="num">Devices</th>
                <th scope="col" class="num">Online</th>
                <th scope="col" class="num">Offline</th>
                <th scope="col" class="num">Critical</th>
                <th scope="col" class="num">Warning</th>
                <th scope="col" class="num">OK</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => {
                const base: Filter = { client_id: g.client_id, site_id: g.site_id ?? undefined };
                const where = `${g.client_name}${g.site_name ? `, ${g.site_name}` : ''}`;
                return (
                  <tr key={`${g.client_id}-${g.site_id}`}>
                    <th scope="row">
                      <a href={`/clients/${g.client_id}`}>{g.client_name}</a>
                    </th>
                    <td>{g.site_name ?? <span class="muted">No site</span>}</td>
                    <td class="num">
                      <Count n={g.devices} filter={base} label={`devices at ${where}`} />
                    </td>
                    <td class="num">
                      <Count n={g.online} filter={{ ...base, presence: 'online' }} label={`online at ${where}`} />
                    </td>
                    <td class="num">
                      <Count n={g.offline} filter={{ ...base, presence: 'offline' }} label={`offline at ${where}`} />
                    </td>
                    <td class="num crit">
                      <Count n={g.critical} filter={{ ...base, status: 'critical' }} label={`critical at ${where}`} />
                    </td>
                    <td class="num warn">
                      <Count n={g.warning} filter={{ ...base, status: 'warning' }} label={`warning at ${where}`} />
                    </td>
                    <td class="num">
                      <Count n={g.ok} filter={{ ...base, status: 'ok' }} label={`OK at ${where}`} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h2>Needs attention</h2>
      {attention.error ? (
        <LoadError error={attention.error} what="The device list" />
      ) : failing.length === 0 ? (
        <p class="muted">{attention.data ? 'Nothing is failing.' : 'Loading…'}</p>
      ) : (
        <>
          <DeviceTable devices={failing} />
          <p>
            <a href={devicesUrl({ sort: '-failing_checks' })}>All devices by failing checks</a>
          </p>
        </>
      )}
      <p class="muted small">
        Worst status across the fleet: <StatusBadge status={worst(totals)} />
      </p>
    </section>
  );
}

function worst(t: FleetCounts): 'ok' | 'warning' | 'critical' | 'unknown' | 'none' {
  if (t.critical) return 'critical';
  if (t.warning) return 'warning';
  if (t.unknown) return 'unknown';
  if (t.ok) return 'ok';
  return 'none';
}
