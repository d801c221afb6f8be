// Small building blocks every page uses: data loading, status badges, pagination, form fields
// that show the API's own validation messages.
import type { ComponentChildren, JSX, Ref } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type CheckStatus, type Page, type Presence } from '../api';
import { type Location, navigate, withQuery } from '../router';

export interface Async<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

// Runs `load` whenever `deps` change (and on reload()); keeps the last data while reloading so
// live refreshes do not flicker.
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    load(ctl.signal).then(
      (d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e) => {
        if (ctl.signal.aborted) return;
        setError(e instanceof ApiError ? e : new ApiError(0, String(e)));
        setLoading(false);
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

// Calls `fn` at most once per `ms` (trailing): live events can arrive in bursts.
export function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<number>();
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  }, [ms]);
}

const statusText: Record<string, string> = {
  ok: 'OK',
  warning: 'Warning',
  critical: 'Critical',
  unknown: 'Unknown',
  none: 'No data',
};

export function StatusBadge({ status }: { status: CheckStatus | null | 'none' }) {
  const s = status ?? 'none';
  return <span class={`badge st-${s}`}>{statusText[s] ?? s}</span>;
}

export function PresenceBadge({ presence }: { presence: Presence }) {
  const label = presence === 'online' ? 'Online' : presence === 'offline' ? 'Offline' : 'Never seen';
  return (
    <span class={`presence pr-${presence}`}>
      <span class="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status">
      {what}…
    </p>
  );
}

// A failed load: 404 says plainly that the record is not there for this user (another client's
// records answer 404 too, so the message covers both without revealing which).
export function LoadError({ error, what = 'this' }: { error: ApiError; what?: string }) {
  if (error.status === 404) {
    return (
      <div class="notice error" role="alert">
        <strong>Not found.</strong> {what} does not exist, or you are not allowed to see it.
      </div>
    );
  }
  if (error.status === 401) return null; // the shell shows the sign-in form
  return (
    <div class="notice error" role="alert">
      {error.detail}
    </div>
  );
}

export function Notice({ kind, children }: { kind: 'error' | 'ok' | 'info'; children: ComponentChildren }) {
  return (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

// Server-side pagination: page numbers live in the URL (?page=N, or another parameter when a page
// has several lists).
export function Pager({ loc, total, limit, param = 'page' }: { loc: Location; total: number; limit: number; param?: string }) {
  const page = pageOf(loc, param);
  // Another list's page parameter leaves the main one (?page=) as it is.
  const to = (n: number | null) => (param === 'page' ? { page: n } : { [param]: n, page: loc.query.get('page') });
  const pages = Math.max(1, Math.ceil(total / limit));
  if (total <= limit && page === 1) {
    return <p class="muted pager-info">{total === 1 ? '1 item' : `${total} items`}</p>;
  }
  const first = (page - 1) * limit + 1;
  const last = Math.min(total, page * limit);
  return (
    <nav class="pager" aria-label={param === 'page' ? 'Pages' : `Pages (${param.replace('_page', '')})`}>
      <span class="muted">
        {first}–{last} of {total}
      </span>
      {page > 1 ? (
        <a class="button" href={withQuery(loc, to(page - 1 === 1 ? null : page - 1))}>
          Previous
        </a>
      ) : (
        <span class="button disabled" aria-disabled="true">
          Previous
        </span>
      )}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? (
        <a class="button" href={withQuery(loc, to(page + 1))}>
          Next
        </a>
      ) : (
        <span class="button disabled" aria-disabled="true">
          Next
        </span>
      )}
    </nav>
  );
}

export function pageOf(loc: Location, param = 'page'): number {
  const n = Number(loc.query.get(param) ?? '1');
  return Number.isInteger(n) && n > 0 ? n : 1;
}

let fieldIds = 0;
function useFieldId(name: string) {
  const id = useRef<string>();
  if (!id.current) id.current = `f-${name.replace(/\W/g, '-')}-${++fieldIds}`;
  return id.current;
}

interface FieldProps {
  label: string;
  name: string;
  error?: ApiError;
  hint?: string;
}

// The API names wrong fields ("name", "business_hours.mon"); the field shows its own message.
export function TextField({
  label,
  name,
  error,
  hint,
  inputRef,
  ...input
}: FieldProps & { inputRef?: Ref<HTMLInputElement> } & Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'label' | 'name'>) {
  const id = useFieldId(name);
  const msg = error?.field(name);
  const describedBy = [msg ? `${id}-err` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field${msg ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      <input
        ref={inputRef}
        id={id}
        name={name}
        aria-invalid={msg ? 'true' : undefined}
        aria-describedby={describedBy || undefined}
        {...input}
      />
      {hint && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
      {msg && (
        <small id={`${id}-err`} class="field-error">
          {msg}
        </small>
      )}
    </div>
  );
}

export function SelectField({
  label,
  name,
  error,
  options,
  ...select
}: FieldProps & {
  options: [string, string][];
} & Omit<JSX.SelectHTMLAttributes<HTMLSelectElement>, 'label' | 'name'>) {
  const id = useFieldId(name);
  const msg = error?.field(name);
  return (
    <div class={`field${msg ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      <select id={id} name={name} aria-invalid={msg ? 'true' : undefined} aria-describedby={msg ? `${id}-err` : undefined} {...select}>
        {options.map(([v, t]) => (
          <option value={v} key={v}>
            {t}
          </option>
        ))}
      </select>
      {msg && (
        <small id={`${id}-err`} class="field-error">
          {msg}
        </small>
      )}
    </div>
  );
}

export function CheckboxField({
  label,
  name,
  ...input
}: { label: string; name: string } & Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'label' | 'name'>) {
  const id = useFieldId(name);
  return (
    <div class="field checkbox">
      <input type="checkbox" id={id} name={name} {...input} />
      <label for={id}>{label}</label>
    </div>
  );
}

// The summary above a form: the API's detail, and which fields it named that the form does not
// show (so nothing the API said is lost).
export function FormError({ error, shown }: { error?: ApiError; shown: string[] }) {
  if (!error) return null;
  const others = error.errors.filter((e) => !shown.includes(e.field));
  return (
    <div class="notice error" role="alert">
      {error.detail}
      {others.length > 0 && (
        <ul>
          {others.map((e) => (
            <li key={e.field}>
              {e.field}: {e.detail}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// Form values as an object of strings.
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => {
    out[k] = String(v);
  });
  return out;
}

// A search box that writes ?q= into the URL (on submit, and after typing stops).
export function SearchBox({ loc, label, onSearch }: { loc: Location; label: string; onSearch: (url: string) => void }) {
  const [value, setValue] = useState(loc.query.get('q') ?? '');
  const timer = useRef<number>();
  useEffect(() => setValue(loc.query.get('q') ?? ''), [loc.query.get('q')]);
  const submit = (v: string) => onSearch(withQuery(loc, { q: v.trim() || null }));
  return (
    <form
      role="search"
      class="search"
      onSubmit={(e) => {
        e.preventDefault();
        window.clearTimeout(timer.current);
        submit(value);
      }}
    >
      <label class="sr-only" for="search-q">
        {label}
      </label>
      <input
        id="search-q"
        type="search"
        placeholder={label}
        value={value}
        maxLength={200}
        onInput={(e) => {
          const v = (e.target as HTMLInputElement).value;
          setValue(v);
          window.clearTimeout(timer.current);
          timer.current = window.setTimeout(() => submit(v), 400);
        }}
      />
    </form>
  );
}

// A list's filters as selects whose values live in the URL (changing one goes back to page 1).
export interface FilterSpec {
  name: string; // the query parameter
  label: string;
  options: [string, string][]; // [value, text]
  unset?: string; // the option that means "no parameter" (default '')
}

export function FilterBar({ loc, filters, children }: { loc: Location; filters: FilterSpec[]; children?: ComponentChildren }) {
  return (
    <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      {filters.map((f) => {
        const unset = f.unset ?? '';
        return (
          <div class="field" key={f.name}>
            <label for={`filter-${f.name}`}>{f.label}</label>
            <select
              id={`filter-${f.name}`}
              value={loc.query.get(f.name) ?? unset}
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                navigate(withQuery(loc, { [f.name]: v === unset ? null : v }));
              }}
            >
              {f.options.map(([v, t]) => (
                <option value={v} key={v}>
                  {t}
                </option>
              ))}
            </select>
          </div>
        );
      })}
      {children}
    </form>
  );
}

// A server-paginated list: its loading and error states, the empty message, the rows (rendered by
// `children`) and the pager.
export function PagedList<T>(props: {
  list: Async<Page<T>>;
  loc: Location;
  limit: number;
  what: string; // "The device list", for errors
  empty: string;
  children: (items: T[]) => ComponentChildren;
}) {
  const { list } = props;
  if (list.error) return <LoadError error={list.error} what={props.what} />;
  if (!list.data) return <Loading />;
  if (list.data.items.length === 0 && list.data.total === 0) return <p class="muted">{props.empty}</p>;
  return (
    <>
      {props.children(list.data.items)}
      <Pager loc={props.loc} total={list.data.total} limit={props.limit} />
    </>
  );
}
