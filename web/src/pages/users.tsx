// Users: owners and admins manage every account; a client admin (in the portal) manages the
// users of their own company and can grant only client roles. The API enforces both.
import { useEffect, useState } from 'preact/hooks';
import { api, clientNames, clientRoles, type Page, qs, type Role, type Session, staffRoles, type User } from '../api';
import { type FieldSpec, RecordForm } from '../components/record_form';
import { FilterBar, Notice, PagedList, pageOf, SearchBox, useAsync } from '../components/ui';
import { ago } from '../format';
import { navigate, useLocation } from '../router';

const limit = 25;
const roleLabel: Record<Role, string> = {
  owner: 'Owner',
  admin: 'Admin',
  technician: 'Technician',
  dispatcher: 'Dispatcher',
  billing: 'Billing',
  client_admin: 'Client admin',
  client_user: 'Client user',
};

export function UsersPage({ session, portal = false }: { session: Session; portal?: boolean }) {
  const loc = useLocation();
  const page = pageOf(loc);
  const me = session.user;
  const [edit, setEdit] = useState<number | 'new' | null>(null);
  const [created, setCreated] = useState<{ email: string; password?: string }>();
  const query = qs({
    limit,
    offset: (page - 1) * limit,
    q: loc.query.get('q'),
    role: loc.query.get('role'),
    disabled: loc.query.get('disabled'),
  });
  const list = useAsync((signal) => api<Page<User>>('GET', `/users${query}`, undefined, { signal }), [query]);
  const names = useAsync((signal) => (portal ? Promise.resolve(new Map<number, string>()) : clientNames(signal)), [portal]);
  useEffect(() => {
    document.title = 'Users · Vigil';
  }, []);

  const grantable: Role[] =
    me.role === 'owner' ? [...staffRoles, ...clientRoles] : me.role === 'admin' ? [...staffRoles.filter((r) => r !== 'owner'), ...clientRoles] : clientRoles;
  const fields = (creating: boolean): FieldSpec[] => [
    ...(creating ? [{ name: 'email', label: 'E-mail', type: 'email', required: true } as FieldSpec] : []),
    { name: 'name', label: 'Name' },
    { name: 'role', label: 'Role', type: 'select', options: grantable.map((r) => [r, roleLabel[r]]) },
    ...(portal
      ? []
      : [
          {
            name: 'client_id',
            label: 'Client (client roles only)',
            type: 'select',
            nullable: true,
            options: [['', 'None (staff)'], ...[...(names.data ?? new Map()).entries()].map(([id, n]) => [String(id), n])],
          } as FieldSpec,
        ]),
    ...(creating
      ? [{ name: 'password', label: 'Password', type: 'password', autoComplete: 'new-password', hint: 'Empty: Vigil generates one and shows it once' } as FieldSpec]
      : [{ name: 'disabled', label: 'Disabled (ends their sessions and tokens)', type: 'checkbox' } as FieldSpec]),
  ];
  const fix = (body: Record<string, unknown>) => {
    if (typeof body.client_id === 'string') body.client_id = Number(body.client_id);
    if (portal && 'role' in body && !('client_id' in body) && me.client_id) body.client_id = me.client_id;
    return body;
  };

  return (
    <section>
      <div class="page-head">
        <h1>Users</h1>
        <SearchBox loc={loc} label="Search users" onSearch={navigate} />
        {edit === null && (
          <button type="button" onClick={() => setEdit('new')}>
            New user
          </button>
        )}
      </div>
      {created && (
        <Notice kind="ok">
          User {created.email} created.
          {created.password && (
            <>
              {' '}
              Their initial password, shown only now: <code class="secret">{created.password}</code>
            </>
          )}
        </Notice>
      )}
      {edit === 'new' && (
        <div class="card">
          <h2>New user</h2>
          <RecordForm
            fields={fields(true)}
            initial={{ role: grantable.includes('technician') ? 'technician' : 'client_user', client_id: portal ? me.client_id : null }}
            submitLabel="Create user"
            onCancel={() => setEdit(null)}
            onSubmit={async (body) => {
              const b = fix(body);
              if (!('role' in b)) b.role = grantable.includes('technician') ? 'technician' : 'client_user';
              if (portal) b.client_id = me.client_id;
              if (!('email' in b)) b.email = '';
              const u = await api<User & { initial_password?: string }>('POST', '/users', b);
              setCreated({ email: u.email, password: u.initial_password });
              setEdit(null);
              list.reload();
            }}
          />
        </div>
      )}
      {!portal && (
        <FilterBar
          loc={loc}
          filters={[
            { name: 'role', label: 'Role', options: [['', 'Any role'], ...(Object.entries(roleLabel) as [string, string][])] },
            {
              name: 'disabled',
              label: 'Accounts',
              options: [
                ['', 'Enabled and disabled'],
                ['false', 'Enabled'],
                ['true', 'Disabled'],
              ],
            },
          ]}
        />
      )}
      <PagedList list={list} loc={loc} limit={limit} what="The user list" empty="No users.">
        {(items) => (
          <div class="table-wrap">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">E-mail</th>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  {!portal && <th scope="col">Client</th>}
                  <th scope="col">Two-factor</th>
                  <th scope="col">Last sign-in</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((u) =>
                  edit === u.id ? (
                    <tr key={u.id}>
                      <td colSpan={portal ? 6 : 7}>
                        <RecordForm
                          title={`Edit ${u.email}`}
                          fields={fields(false)}
                          initial={u as unknown as Record<string, unknown>}
                          submitLabel="Save user"
                          onCancel={() => setEdit(null)}
                          onSubmit={async (body) => {
                            await api('PATCH', `/users/${u.id}`, fix(body));
                            setEdit(null);
                            list.reload();
                          }}
                        />
                      </td>
                    </tr>
                  ) : (
                    <tr key={u.id} class={u.disabled ? 'disabled' : ''}>
                      <th scope="row">
                        {u.email}
                        {u.disabled && <span class="tag">disabled</span>}
                      </th>
                      <td>{u.name}</td>
                      <td>{roleLabel[u.role] ?? u.role}</td>
                      {!portal && <td>{u.client_id ? names.data?.get(u.client_id) ?? `#${u.client_id}` : '—'}</td>}
                      <td>{u.totp_enabled ? 'On' : 'Off'}</td>
                      <td>{ago(u.last_login_at)}</td>
                      <td>
                        {edit === null && (
                          <button type="button" class="link" onClick={() => setEdit(u.id)} aria-label={`Edit ${u.email}`}>
                            Edit
                          </button>
                        )}
                      </td>
                    </tr>
                  ),
                )}
              </tbody>
            </table>
          </div>
        )}
      </PagedList>
    </section>
  );
}
