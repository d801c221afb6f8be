// How numbers and times read in the console.

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${units[i]}`;
}

// A metric's value with its unit, readable.
export function metricValue(value: number, unit?: string): string {
  if (unit === 'B') return bytes(value);
  if (unit === '%') return `${round(value)} %`;
  if (unit === 's') return duration(value);
  return unit ? `${round(value)} ${unit}` : round(value);
}

export function duration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 120) return `${Math.round(seconds)} s`;
  if (s < 7200) return `${Math.round(seconds / 60)} min`;
  if (s < 172800) return `${round(seconds / 3600)} h`;
  return `${round(seconds / 86400)} d`;
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : String(Math.round(v * 10) / 10);
}

export const checkTitles: Record<string, string> = {
  inventory: 'Inventory',
  cpu: 'CPU',
  memory: 'Memory',
  swap: 'Swap',
  disk: 'Disk space',
  smart: 'Disk health',
  updates: 'Updates',
  antivirus: 'Antivirus',
  backup: 'Backup',
  firewall: 'Firewall',
  services: 'Services',
  certificates: 'Certificates',
  reachability: 'Reachability',
  plugin: 'Plugin',
};

export const checkTitle = (c: string) => checkTitles[c] ?? c;
