// The one place the console talks to vigild's JSON API (/api/v1, docs/api.md).
//
// Sessions: the HttpOnly cookie travels by itself; state-changing calls add the session's CSRF
// token. A 401 on anything but sign-in means the session ended: listeners (the app shell) show the
// sign-in form again and keep the page's URL. Failures are RFC 9457 problems, turned into
// ApiError with the per-field messages the API gives, so forms show exactly the API's validation.

export type Role =
  | 'owner'
  | 'admin'
  | 'technician'
  | 'dispatcher'
  | 'billing'
  | 'client_admin'
  | 'client_user';

export const staffRoles: Role[] = ['owner', 'admin', 'technician', 'dispatcher', 'billing'];
export const clientRoles: Role[] = ['client_admin', 'client_user'];
export const isStaff = (r: Role) => staffRoles.includes(r);

export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  client_id: number | null;
  disabled: boolean;
  totp_enabled: boolean;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

// GET /auth/me and POST /auth/login.
export interface Session {
  csrf_token: string;
  mfa_enrollment_required: boolean;
  recovery_codes_left?: number;
  user: User;
}

export type CheckStatus = 'ok' | 'warning' | 'critical' | 'unknown';
export type Presence = 'online' | 'offline' | 'never';

export interface Device {
  id: number;
  client_id: number;
  site_id: number | null;
  kind: string;
  hostname: string;
  os: string;
  agent_version: string;
  enrolled_at: string;
  last_seen_at: string | null;
  presence: Presence;
  connected: boolean;
  revoked_at: string | null;
  status: CheckStatus | null;
  failing_checks: number;
  lost_batches: number;
  last_sequence: number;
}

export interface Metric {
  name: string;
  value: number;
  unit?: string;
  warn?: number;
  crit?: number;
  min?: number;
  max?: number;
}

export interface CheckState {
  check: string;
  target: string;
  status: CheckStatus;
  message: string;
  metrics: Metric[];
  details: Record<string, unknown>;
  observed_at: string;
  changed_at: string;
}

export interface DeviceDetail extends Device {
  checks: CheckState[];
  inventory: Record<string, unknown> | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface FieldError {
  field: string;
  detail: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    readonly retryAfter?: number,
  ) {
    super(detail);
  }
  // The API's message for one field, if it named that field.
  field(name: string): string | undefined {
    return this.errors.find((e) => e.field === name)?.detail;
  }
}

let csrfToken = '';
export function setCsrfToken(token: string) {
  csrfToken = token;
}

type Listener = () => void;
const expiredListeners = new Set<Listener>();
// Called when a request finds the session gone (401).
export function onSessionExpired(l: Listener): () => void {
  expiredListeners.add(l);
  return () => expiredListeners.delete(l);
}

// Requests under way, for the progress bar.
let inFlight = 0;
const busyListeners = new Set<(busy: boolean) => void>();
export function onBusy(l: (busy: boolean) => void): () => void {
  busyListeners.add(l);
  return () => busyListeners.delete(l);
}
function setInFlight(delta: number) {
  const before = inFlight > 0;
  inFlight += delta;
  if (before !== inFlight > 0) busyListeners.forEach((l) => l(inFlight > 0));
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { quiet401?: boolean; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  setInFlight(1);
  let resp: Response;
  try {
    resp = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'vigild does not answer: check the network or try again in a moment');
  } finally {
    setInFlight(-1);
  }
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = new ApiError(
      resp.status,
      (data && typeof data.detail === 'string' && data.detail) || `${resp.status} ${resp.statusText}`,
      Array.isArray(data?.errors) ? data.errors : [],
      Number(resp.headers.get('retry-after')) || undefined,
    );
    if (resp.status === 401 && !opts.quiet401) expiredListeners.forEach((l) => l());
    throw err;
  }
  return data as T;
}

// "?a=1&b=x" from the values that are set.
export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

// GET /fleet/summary: device counts per client and site.
export interface FleetCounts {
  devices: number;
  online: number;
  offline: number;
  never: number;
  ok: number;
  warning: number;
  critical: number;
  unknown: number;
  none: number;
}
export interface FleetGroup extends FleetCounts {
  client_id: number;
  client_name: string;
  site_id: number | null;
  site_name: string | null;
}
export interface FleetSummary {
  totals: FleetCounts;
  groups: FleetGroup[];
}

export interface Client {
  id: number;
  name: string;
  status: 'active' | 'archived';
  timezone: string;
  currency: string;
  employees: number | null;
  notes: string;
  created_at: string;
  updated_at: string;
}

export interface Site {
  id: number;
  client_id: number;
  name: string;
  address: string;
  timezone: string | null;
  notes?: string;
  created_at: string;
}

export interface Contact {
  id: number;
  client_id: number;
  site_id: number | null;
  name: string;
  email: string;
  phone: string;
  title: string;
  is_primary: boolean;
  is_billing: boolean;
  is_technical: boolean;
  created_at: string;
}

// Client names for ids, loaded once per page view (up to 200 clients; more show as "#id").
export async function clientNames(signal?: AbortSignal): Promise<Map<number, string>> {
  const page = await api<Page<Client>>('GET', '/clients?limit=200&sort=name', undefined, { signal });
  return new Map(page.items.map((c) => [c.id, c.name]));
}
