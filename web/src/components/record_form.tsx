// A form for one record (create or edit) described by its fields. It sends what the API expects
// (numbers as numbers, empty nullable fields as null; on edit only the changed fields, as PATCH
// wants) and shows the API's own message under each field it names.
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { CheckboxField, FormError, SelectField, TextField } from './ui';

export interface FieldSpec {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'number' | 'password' | 'textarea' | 'select' | 'checkbox';
  options?: [string, string][];
  hint?: string;
  nullable?: boolean; // '' → null
  required?: boolean;
  autoComplete?: string;
  maxLength?: number;
}

type Values = Record<string, unknown>;

function toInput(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

export function RecordForm(props: {
  fields: FieldSpec[];
  initial?: Values; // edit when given
  submitLabel: string;
  onSubmit: (body: Values) => Promise<void>;
  onCancel?: () => void;
  title?: string;
}) {
  const { fields, initial } = props;
  const [values, setValues] = useState<Values>(() => {
    const v: Values = {};
    for (const f of fields) v[f.name] = f.type === 'checkbox' ? Boolean(initial?.[f.name]) : toInput(initial?.[f.name]);
    return v;
  });
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  function body(): Values {
    const out: Values = {};
    for (const f of fields) {
      const raw = values[f.name];
      let v: unknown = raw;
      if (f.type === 'checkbox') v = Boolean(raw);
      else if (raw === '' && f.nullable) v = null;
      else if (f.type === 'number' && raw !== '') v = Number(raw);
      if (initial) {
        const before = f.type === 'checkbox' ? Boolean(initial[f.name]) : initial[f.name] ?? (f.nullable ? null : '');
        if (before === v || (f.type !== 'checkbox' && toInput(before) === toInput(v) && (v === null) === (before === null))) continue;
      } else if (v === '' && !f.required) {
        continue;
      }
      out[f.name] = v;
    }
    return out;
  }

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit(body());
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, String(err)));
    } finally {
      setBusy(false);
    }
  }

  const set = (name: string, v: unknown) => setValues((old) => ({ ...old, [name]: v }));
  return (
    <form class="record-form" onSubmit={submit} noValidate aria-label={props.title ?? props.submitLabel}>
      <FormError error={error} shown={fields.map((f) => f.name)} />
      <div class="form-grid">
        {fields.map((f) => {
          if (f.type === 'checkbox') {
            return (
              <CheckboxField
                key={f.name}
                label={f.label}
                name={f.name}
                checked={Boolean(values[f.name])}
                onChange={(e) => set(f.name, (e.target as HTMLInputElement).checked)}
              />
            );
          }
          if (f.type === 'select') {
            return (
              <SelectField
                key={f.name}
                label={f.label}
                name={f.name}
                error={error}
                options={f.options ?? []}
                value={String(values[f.name])}
                onChange={(e) => set(f.name, (e.target as HTMLSelectElement).value)}
              />
            );
          }
          if (f.type === 'textarea') {
            const id = `ta-${f.name}`;
            const msg = error?.field(f.name);
            return (
              <div class={`field wide${msg ? ' invalid' : ''}`} key={f.name}>
                <label for={id}>{f.label}</label>
                <textarea
                  id={id}
                  name={f.name}
                  rows={3}
                  aria-invalid={msg ? 'true' : undefined}
                  aria-describedby={msg ? `${id}-err` : undefined}
                  value={String(values[f.name])}
                  onInput={(e) => set(f.name, (e.target as HTMLTextAreaElement).value)}
                />
                {msg && (
                  <small id={`${id}-err`} class="field-error">
                    {msg}
                  </small>
                )}
              </div>
            );
          }
          return (
            <TextField
              key={f.name}
              label={f.label}
              name={f.name}
              type={f.type ?? 'text'}
              hint={f.hint}
              error={error}
              required={f.required}
              autoComplete={f.autoComplete ?? 'off'}
              maxLength={f.maxLength}
              inputMode={f.type === 'number' ? 'numeric' : undefined}
              value={String(values[f.name])}
              onInput={(e) => set(f.name, (e.target as HTMLInputElement).value)}
            />
          );
        })}
      </div>
      <div class="actions">
        {props.onCancel && (
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : props.submitLabel}
        </button>
      </div>
    </form>
  );
}
