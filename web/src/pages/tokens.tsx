// API tokens: create one for scripts (the secret is shown once), see when each was last used,
// revoke. Owners and admins see everyone's tokens.
import { useEffect, useState } from 'preact/hooks';
import { api, type Page, qs, type Session } from '../api';
import { RecordForm } from '../components/record_form';
import { FilterBar, Notice, PagedList, pageOf, useAsync } from '../components/ui';
import { ago, dateTime } from '../format';
import { useLocation } from '../router';

interface ApiToken {
  id: number;
  user_id: number;
  name: string;
  prefix: string;
  scope: 'read' | 'write';
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const limit = 25;

export function TokensPage({ session }: { session: Session }) {
  const loc = useLocation();
  const page = pageOf(loc);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; secret: string }>();
  const revoked = loc.query.get('revoked') ?? 'false';
  const query = qs({ limit, offset: (page - 1) * limit, revoked: revoked === 'all' ? null : revoked, sort: '-created_at' });
  const list = useAsync((signal) => api<Page<ApiToken>>('GET', `/tokens${query}`, undefined, { signal }), [query]);
  useEffect(() => {
    document.title = 'API tokens · Vigil';
  }, []);
  return (
    <section>
      <div class="page-head">
        <h1>API tokens</h1>
        {!creating && (
          <button type="button" onClick={() => setCreating(true)}>
            New token
          </button>
        )}
      </div>
      <p class="muted">Tokens act for their user with the user’s current role; read tokens may only read.</p>
      {secret && (
        <Notice kind="ok">
          Token “{secret.name}” created. Copy the secret now; it is not shown again:{' '}
          <code class="secret">{secret.secret}</code>
        </Notice>
      )}
      {creating && (
        <div class="card">
          <h2>New API token</h2>
          <RecordForm
            fields={[
              { name: 'name', label: 'Name', required: true, hint: 'What uses it, e.g. grafana' },
              {
                name: 'scope',
                label: 'Scope',
                type: 'select',
                options: [
                  ['read', 'Read only'],
                  ['write', 'Read and write'],
                ],
              },
              { name: 'expires_in_days', label: 'Expires in days', type: 'number', hint: '1–3650; empty: never' },
            ]}
            initial={{ scope: 'read' }}
            submitLabel="Create token"
            onCancel={() => setCreating(false)}
            onSubmit={async (body) => {
              if (!('scope' in body)) body.scope = 'read';
              const t = await api<ApiToken & { secret: string }>('POST', '/tokens', body);
              setSecret({ name: t.name, secret: t.secret });
              setCreating(false);
              list.reload();
            }}
          />
        </div>
      )}
      <FilterBar
        loc={loc}
        filters={[
          {
            name: 'revoked',
            label: 'Show',
            unset: 'false',
            options: [
              ['false', 'Active tokens'],
              ['true', 'Revoked tokens'],
              ['all', 'All tokens'],
            ],
          },
        ]}
      />
      <PagedList list={list} loc={loc} limit={limit} what="The token list" empty="No tokens.">
        {(items) => (
          <div class="table-wrap">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Scope</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((t) => (
                  <tr key={t.id}>
                    <th scope="row">
                      {t.name}
                      {t.user_id !== session.user.id && <span class="muted"> (user #{t.user_id})</span>}
                    </th>
                    <td>
                      <code>{t.prefix}…</code>
                    </td>
                    <td>{t.scope}</td>
                    <td>{ago(t.last_used_at)}</td>
                    <td>{t.expires_at ? dateTime(t.expires_at) : 'never'}</td>
                    <td>
                      {t.revoked_at ? (
                        <span class="muted">revoked {ago(t.revoked_at)}</span>
                      ) : (
                        <button
                          type="button"
                          class="link danger"
                          aria-label={`Revoke ${t.name}`}
                          onClick={async () => {
                            if (!confirm(`Revoke the token “${t.name}”? Scripts using it stop working.`)) return;
                            await api('DELETE', `/tokens/${t.id}`);
                            list.reload();
                          }}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </PagedList>
    </section>
  );
}
