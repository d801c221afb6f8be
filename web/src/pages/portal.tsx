// The client portal's start page: the contact's own company, its devices at a glance and the
// list behind it. The API scopes every query to the contact's client; another company's device
// answers 404, which the device page turns into a plain refusal.
import { useEffect } from 'preact/hooks';
import { api, type Client, type Device, type FleetSummary, type Page, qs, type Session } from '../api';
import { PagedList, pageOf, useAsync, useDebounced } from '../components/ui';
import { useLiveEvents } from '../live';
import { useLocation, withQuery } from '../router';
import { DeviceTable } from './devices';

const limit = 50;

export function PortalHome({ session }: { session: Session }) {
  const loc = useLocation();
  const page = pageOf(loc);
  const status = loc.query.get('status');
  const clientId = session.user.client_id;
  const client = useAsync((signal) => api<Client>('GET', `/clients/${clientId}`, undefined, { signal }), [clientId]);
  const summary = useAsync((signal) => api<FleetSummary>('GET', '/fleet/summary', undefined, { signal }), []);
  const query = qs({ limit, offset: (page - 1) * limit, status, sort: '-failing_checks' });
  const list = useAsync((signal) => api<Page<Device>>('GET', `/devices${query}`, undefined, { signal }), [query]);
  const refresh = useDebounced(() => {
    summary.reload();
    list.reload();
  }, 1000);
  useLiveEvents(() => refresh(), [refresh]);
  useEffect(() => {
    document.title = 'Your devices · Vigil client portal';
  }, []);

  const t = summary.data?.totals;
  return (
    <section>
      <h1>{client.data ? `${client.data.name}: devices` : 'Your devices'}</h1>
      {t && (
        <ul class="cards" aria-label="Totals">
          {(
            [
              ['Devices', t.devices, null],
              ['Online', t.online, null],
              ['Need attention', t.critical + t.warning, 'critical'],
            ] as [string, number, string | null][]
          ).map(([label, n, filter]) => (
            <li key={label} class="card stat">
              <span class="stat-label">{label}</span>
              {filter && n > 0 ? (
                <a class="count" href={withQuery(loc, { status: filter })}>
                  {n}
                </a>
              ) : (
                <span class="count">{n}</span>
              )}
            </li>
          ))}
        </ul>
      )}
      <p class="muted">Your IT provider watches these machines around the clock. Problems become tickets they work on.</p>
      {status && (
        <p class="chips">
          <span class="chip">
            Status: {status} <a href={withQuery(loc, { status: null })} aria-label="Show every device">×</a>
          </span>
        </p>
      )}
      <PagedList list={list} loc={loc} limit={limit} what="The device list" empty="No devices.">
        {(items) => <DeviceTable devices={items} portal />}
      </PagedList>
    </section>
  );
}
