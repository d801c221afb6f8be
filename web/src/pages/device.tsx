// One device: its health now (every check's state and message), history charts of the numeric
// checks over a range chosen in the URL, disk health, and inventory. Check changes arrive live.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type CheckState, type Client, type DeviceDetail, qs } from '../api';
import { Chart, type SeriesData } from '../components/chart';
import { LoadError, Loading, PresenceBadge, StatusBadge, useAsync, useDebounced } from '../components/ui';
import { ago, bytes, checkTitle, dateTime, metricValue } from '../format';
import { useLiveEvents } from '../live';
import { useLocation, withQuery } from '../router';

const ranges: [string, string, number][] = [
  ['1h', '1 hour', 3600],
  ['6h', '6 hours', 6 * 3600],
  ['24h', '24 hours', 24 * 3600],
  ['7d', '7 days', 7 * 86400],
  ['30d', '30 days', 30 * 86400],
];

// The numeric checks worth a chart, and the metric that tells their story.
interface ChartSpec {
  check: string;
  target: string;
  metric: string;
  title: string;
  unit?: string;
  scale?: number; // shown value = stored value × scale
  warn?: number;
  crit?: number;
}

function chartSpecs(checks: CheckState[]): ChartSpec[] {
  const wanted: Record<string, (t: string) => [string, string, string?, number?]> = {
    cpu: () => ['cpu.busy_percent', 'CPU busy'],
    memory: () => ['memory.used_percent', 'Memory used'],
    disk: (t) => [`disk.${t}.used_percent`, `Disk space used, ${t}`],
    antivirus: () => ['antivirus.signature_age_hours', 'Antivirus signature age'],
    backup: (t) => ['backup.age_seconds', `Backup age${t ? `, ${t}` : ''}`, 'h', 1 / 3600],
  };
  const out: ChartSpec[] = [];
  for (const c of checks) {
    const w = wanted[c.check];
    if (!w) continue;
    const [metric, title, unitOverride, scale] = w(c.target);
    const m = c.metrics.find((x) => x.name === metric);
    if (!m) continue;
    const k = scale ?? 1;
    out.push({
      check: c.check,
      target: c.target,
      metric,
      title,
      unit: unitOverride ?? m.unit,
      scale,
      warn: m.warn === undefined ? undefined : m.warn * k,
      crit: m.crit === undefined ? undefined : m.crit * k,
    });
  }
  return out;
}

interface RawPoint {
  at: string;
  metrics: { name: string; value: number }[];
}
interface HourPoint {
  hour: string;
  metric: string;
  min: number;
  max: number;
  avg: number;
}

async function loadSeries(id: string, spec: ChartSpec, seconds: number, signal: AbortSignal): Promise<SeriesData> {
  const to = new Date();
  const from = new Date(to.getTime() - seconds * 1000);
  const h = await api<{ resolution: 'raw' | 'hour'; points: (RawPoint | HourPoint)[] }>(
    'GET',
    `/devices/${id}/checks/${encodeURIComponent(spec.check)}/history${qs({
      target: spec.target,
      from: from.toISOString(),
      to: to.toISOString(),
    })}`,
    undefined,
    { signal },
  );
  const k = spec.scale ?? 1;
  const data: SeriesData = { from: from.getTime() / 1000, to: to.getTime() / 1000, x: [], y: [] };
  if (h.resolution === 'raw') {
    for (const p of h.points as RawPoint[]) {
      const m = p.metrics.find((x) => x.name === spec.metric);
      if (!m) continue;
      data.x.push(Date.parse(p.at) / 1000);
      data.y.push(m.value * k);
    }
  } else {
    data.min = [];
    data.max = [];
    for (const p of h.points as HourPoint[]) {
      if (p.metric !== spec.metric) continue;
      data.x.push(Date.parse(p.hour) / 1000);
      data.y.push(p.avg * k);
      data.min.push(p.min * k);
      data.max.push(p.max * k);
    }
  }
  return data;
}

function HistoryChart({ id, spec, seconds }: { id: string; spec: ChartSpec; seconds: number }) {
  const series = useAsync((signal) => loadSeries(id, spec, seconds, signal), [id, spec.check, spec.target, spec.metric, seconds]);
  if (series.error) return <LoadError error={series.error} what="This history" />;
  if (!series.data) return <Loading what={`Loading ${spec.title}`} />;
  return <Chart title={spec.title} unit={spec.unit} data={series.data} warn={spec.warn} crit={spec.crit} />;
}

export function DevicePage({ id, portal = false }: { id: string; portal?: boolean }) {
  const loc = useLocation();
  const detail = useAsync((signal) => api<DeviceDetail>('GET', `/devices/${encodeURIComponent(id)}`, undefined, { signal }), [id]);
  const [changed, setChanged] = useState<Set<string>>(new Set());
  const refresh = useDebounced(detail.reload, 500);
  useLiveEvents(
    (e) => {
      if (String(e.device_id) !== id) return;
      if (e.type === 'check') setChanged((s) => new Set(s).add(`${e.check}\u0000${e.target}`));
      refresh();
    },
    [id, refresh],
  );
  const d = detail.data;
  const clientId = d?.client_id;
  const client = useAsync(
    (signal) => (portal || !clientId ? Promise.resolve(undefined) : api<Client>('GET', `/clients/${clientId}`, undefined, { signal })),
    [clientId, portal],
  );
  useEffect(() => {
    document.title = `${d?.hostname ?? 'Device'} · Vigil`;
  }, [d?.hostname]);

  const rangeKey = loc.query.get('range') ?? '24h';
  const range = ranges.find((r) => r[0] === rangeKey) ?? ranges[2];
  const specs = useMemo(() => (d ? chartSpecs(d.checks) : []), [d && d.checks.map((c) => c.check + c.target).join()]);

  if (detail.error) {
    return (
      <section>
        <h1>Device {id}</h1>
        <LoadError error={detail.error} what={`Device ${id}`} />
        <p>
          <a href={portal ? '/portal' : '/devices'}>Back to the devices</a>
        </p>
      </section>
    );
  }
  if (!d) return <Loading />;
  const smart = d.checks.filter((c) => c.check === 'smart');
  const checks = d.checks.filter((c) => c.check !== 'inventory');
  return (
    <section>
      <p class="crumbs">
        <a href={portal ? '/portal' : '/devices'}>Devices</a> /
      </p>
      <div class="page-head">
        <h1>{d.hostname || `Device ${d.id}`}</h1>
        <div class="badges">
          <StatusBadge status={d.status} /> <PresenceBadge presence={d.presence} />
        </div>
      </div>
      <dl class="facts">
        {!portal && (
          <div>
            <dt>Client</dt>
            <dd>
              <a href={`/clients/${d.client_id}`}>{client.data?.name ?? `Client #${d.client_id}`}</a>
            </dd>
          </div>
        )}
        <div>
          <dt>Kind</dt>
          <dd>{d.kind}</dd>
        </div>
        <div>
          <dt>Operating system</dt>
          <dd>{d.os || '—'}</dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd title={dateTime(d.last_seen_at)}>{ago(d.last_seen_at)}</dd>
        </div>
        <div>
          <dt>Failing checks</dt>
          <dd>{d.failing_checks}</dd>
        </div>
        {!portal && (
          <div>
            <dt>Agent</dt>
            <dd>
              {d.agent_version}
              {d.lost_batches > 0 && <span class="warn-text"> · {d.lost_batches} batches lost</span>}
            </dd>
          </div>
        )}
      </dl>

      <h2>Checks</h2>
      {checks.length === 0 ? (
        <p class="muted">No results yet: the agent reports within a minute of starting.</p>
      ) : (
        <div class="table-wrap">
          <table class="data checks">
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Status</th>
                <th scope="col">Message</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {checks.map((c) => {
                const key = `${c.check}\u0000${c.target}`;
                return (
                  <tr key={key} class={changed.has(key) ? 'changed' : ''} data-check={c.check} data-target={c.target}>
                    <th scope="row">
                      {checkTitle(c.check)}
                      {c.target && <span class="muted"> {c.target}</span>}
                    </th>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td>
                      {c.message}
                      <CheckDetails c={c} />
                    </td>
                    <td title={`changed ${dateTime(c.changed_at)}, last result ${dateTime(c.observed_at)}`}>
                      {ago(c.changed_at)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <div class="page-head">
        <h2>History</h2>
        <nav class="segmented" aria-label="Time range">
          {ranges.map(([key, label]) => (
            <a key={key} href={withQuery(loc, { range: key === '24h' ? null : key })} aria-current={key === range[0] ? 'true' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </div>
      {specs.length === 0 ? (
        <p class="muted">No numeric checks to chart yet.</p>
      ) : (
        <div class="charts">
          {specs.map((s) => (
            <HistoryChart key={`${s.check}-${s.target}-${s.metric}`} id={id} spec={s} seconds={range[2]} />
          ))}
        </div>
      )}

      <h2>Disk health</h2>
      {smart.length === 0 || smart.every((s) => s.metrics.length === 0) ? (
        <p class="muted">{smart[0]?.message ?? 'No SMART data reported.'}</p>
      ) : (
        smart.map((s) => (
          <div class="card disk" key={s.target}>
            <h3>
              {s.target || 'Disk'} <StatusBadge status={s.status} />
            </h3>
            <p>{s.message}</p>
            <MetricTable c={s} />
            <KeyValues obj={s.details} />
          </div>
        ))
      )}

      <h2>Inventory</h2>
      <Inventory inv={d.inventory} />
    </section>
  );
}

function CheckDetails({ c }: { c: CheckState }) {
  if (c.metrics.length === 0 && Object.keys(c.details).length === 0) return null;
  return (
    <details>
      <summary>Details</summary>
      <MetricTable c={c} />
      <KeyValues obj={c.details} />
    </details>
  );
}

function MetricTable({ c }: { c: CheckState }) {
  if (c.metrics.length === 0) return null;
  return (
    <table class="metrics">
      <caption class="sr-only">Metrics of {checkTitle(c.check)}</caption>
      <tbody>
        {c.metrics.map((m) => (
          <tr key={m.name}>
            <th scope="row">{m.name}</th>
            <td class="num">{metricValue(m.value, m.unit)}</td>
            <td class="muted">
              {m.warn !== undefined && `warning at ${metricValue(m.warn, m.unit)}`}
              {m.crit !== undefined && `, critical at ${metricValue(m.crit, m.unit)}`}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function KeyValues({ obj }: { obj: Record<string, unknown> }) {
  const entries = Object.entries(obj);
  if (entries.length === 0) return null;
  return (
    <dl class="kv">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k.replace(/_/g, ' ')}</dt>
          <dd>{typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

function Inventory({ inv }: { inv: Record<string, unknown> | null }) {
  if (!inv) return <p class="muted">No inventory reported yet.</p>;
  const s = (k: string) => (typeof inv[k] === 'string' && inv[k] ? (inv[k] as string) : '—');
  const disks = (Array.isArray(inv.disks) ? inv.disks : []) as { name: string; model: string; serial: string; size_bytes: number }[];
  const ifaces = (Array.isArray(inv.interfaces) ? inv.interfaces : []) as { name: string; mac: string; addresses: string[] }[];
  return (
    <>
      <dl class="facts">
        <div>
          <dt>Hostname</dt>
          <dd>{s('hostname')}</dd>
        </div>
        <div>
          <dt>OS</dt>
          <dd>
            {s('os_name')} {typeof inv.os_version === 'string' ? inv.os_version : ''}
          </dd>
        </div>
        <div>
          <dt>Kernel</dt>
          <dd>{s('kernel')}</dd>
        </div>
        <div>
          <dt>CPU</dt>
          <dd>
            {s('cpu_model')}
            {typeof inv.cpu_cores === 'number' && ` · ${inv.cpu_cores} cores`}
          </dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>{typeof inv.memory_bytes === 'number' ? bytes(inv.memory_bytes) : '—'}</dd>
        </div>
        <div>
          <dt>Hardware</dt>
          <dd>
            {[s('manufacturer'), s('model')].filter((x) => x !== '—').join(' ') || '—'}
            {typeof inv.serial === 'string' && inv.serial && ` · serial ${inv.serial}`}
          </dd>
        </div>
        <div>
          <dt>Last boot</dt>
          <dd>{typeof inv.last_boot === 'string' ? dateTime(inv.last_boot) : '—'}</dd>
        </div>
        <div>
          <dt>Packages</dt>
          <dd>{typeof inv.package_count === 'number' ? inv.package_count : '—'}</dd>
        </div>
      </dl>
      {disks.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Disks">
          <table class="data">
            <caption>Disks</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Model</th>
                <th scope="col">Serial</th>
                <th scope="col" class="num">Size</th>
              </tr>
            </thead>
            <tbody>
              {disks.map((x) => (
                <tr key={x.name}>
                  <th scope="row">{x.name}</th>
                  <td>{x.model || '—'}</td>
                  <td>{x.serial || '—'}</td>
                  <td class="num">{bytes(x.size_bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {ifaces.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Network interfaces">
          <table class="data">
            <caption>Network interfaces</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">MAC</th>
                <th scope="col">Addresses</th>
              </tr>
            </thead>
            <tbody>
              {ifaces.map((x) => (
                <tr key={x.name}>
                  <th scope="row">{x.name}</th>
                  <td>{x.mac}</td>
                  <td>{x.addresses.join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
