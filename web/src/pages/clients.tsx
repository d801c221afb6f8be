// Clients, and each client's sites and contacts: list, create, edit. Validation is the API's:
// the forms show its messages field by field.
import { useEffect, useState } from 'preact/hooks';
import { api, type Client, type Contact, type Page, qs, type Role, type Site } from '../api';
import { type FieldSpec, RecordForm } from '../components/record_form';
import { FilterBar, LoadError, Loading, Notice, PagedList, Pager, pageOf, SearchBox, useAsync } from '../components/ui';
import { dateTime } from '../format';
import { navigate, useLocation } from '../router';

const limit = 25;

const clientFields: FieldSpec[] = [
  { name: 'name', label: 'Name', required: true, maxLength: 200 },
  { name: 'timezone', label: 'Time zone', hint: 'IANA name, e.g. Europe/Berlin (default UTC)' },
  { name: 'currency', label: 'Currency', hint: 'ISO 4217 code (default EUR)', maxLength: 3 },
  { name: 'employees', label: 'Employees', type: 'number', nullable: true },
  { name: 'notes', label: 'Notes', type: 'textarea' },
];

export function ClientsPage({ role }: { role: Role }) {
  const loc = useLocation();
  const page = pageOf(loc);
  const [creating, setCreating] = useState(false);
  const query = qs({
    limit,
    offset: (page - 1) * limit,
    q: loc.query.get('q'),
    status: loc.query.get('status'),
    sort: loc.query.get('sort'),
  });
  const list = useAsync((signal) => api<Page<Client>>('GET', `/clients${query}`, undefined, { signal }), [query]);
  useEffect(() => {
    document.title = 'Clients · Vigil';
  }, []);
  const canCreate = role === 'owner' || role === 'admin';
  return (
    <section>
      <div class="page-head">
        <h1>Clients</h1>
        <SearchBox loc={loc} label="Search clients" onSearch={navigate} />
        {canCreate && !creating && (
          <button type="button" onClick={() => setCreating(true)}>
            New client
          </button>
        )}
      </div>
      {creating && (
        <div class="card">
          <h2>New client</h2>
          <RecordForm
            fields={clientFields}
            submitLabel="Create client"
            onCancel={() => setCreating(false)}
            onSubmit={async (body) => {
              const c = await api<Client>('POST', '/clients', body);
              navigate(`/clients/${c.id}?created=1`);
            }}
          />
        </div>
      )}
      <FilterBar
        loc={loc}
        filters={[
          {
            name: 'status',
            label: 'Status',
            options: [
              ['', 'Active and archived'],
              ['active', 'Active'],
              ['archived', 'Archived'],
            ],
          },
          {
            name: 'sort',
            label: 'Sort by',
            options: [
              ['', 'Name'],
              ['-updated_at', 'Recently changed'],
              ['-created_at', 'Newest'],
              ['-employees', 'Most employees'],
            ],
          },
        ]}
      />
      <PagedList list={list} loc={loc} limit={limit} what="The client list" empty="No client matches.">
        {(items) => (
          <div class="table-wrap">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Employees</th>
                  <th scope="col" class="wide-only">Time zone</th>
                  <th scope="col">Devices</th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">
                      <a href={`/clients/${c.id}`}>{c.name}</a>
                    </th>
                    <td>{c.status}</td>
                    <td class="num">{c.employees ?? '—'}</td>
                    <td class="wide-only">{c.timezone}</td>
                    <td>
                      <a href={`/devices${qs({ client_id: c.id })}`} aria-label={`Devices of ${c.name}`}>
                        Devices
                      </a>
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

export function ClientPage({ id, role }: { id: string; role: Role }) {
  const loc = useLocation();
  const client = useAsync((signal) => api<Client>('GET', `/clients/${encodeURIComponent(id)}`, undefined, { signal }), [id]);
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    document.title = `${client.data?.name ?? 'Client'} · Vigil`;
  }, [client.data?.name]);
  if (client.error) return <LoadError error={client.error} what={`Client ${id}`} />;
  if (!client.data) return <Loading />;
  const c = client.data;
  const canEdit = role === 'owner' || role === 'admin';
  return (
    <section>
      <p class="crumbs">
        <a href="/clients">Clients</a> /
      </p>
      <div class="page-head">
        <h1>{c.name}</h1>
        <a class="button secondary" href={`/devices${qs({ client_id: c.id })}`}>
          Devices
        </a>
        {canEdit && !editing && (
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
      </div>
      {loc.query.get('created') && <Notice kind="ok">Client created.</Notice>}
      {saved && <Notice kind="ok">Changes saved.</Notice>}
      {editing ? (
        <div class="card">
          <h2>Edit client</h2>
          <RecordForm
            fields={[
              ...clientFields,
              {
                name: 'status',
                label: 'Status',
                type: 'select',
                options: [
                  ['active', 'Active'],
                  ['archived', 'Archived'],
                ],
              },
            ]}
            initial={c as unknown as Record<string, unknown>}
            submitLabel="Save"
            onCancel={() => setEditing(false)}
            onSubmit={async (body) => {
              await api<Client>('PATCH', `/clients/${c.id}`, body);
              setEditing(false);
              setSaved(true);
              client.reload();
            }}
          />
        </div>
      ) : (
        <dl class="facts">
          <div>
            <dt>Status</dt>
            <dd>{c.status}</dd>
          </div>
          <div>
            <dt>Time zone</dt>
            <dd>{c.timezone}</dd>
          </div>
          <div>
            <dt>Currency</dt>
            <dd>{c.currency}</dd>
          </div>
          <div>
            <dt>Employees</dt>
            <dd>{c.employees ?? '—'}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{dateTime(c.created_at)}</dd>
          </div>
          {c.notes && (
            <div class="wide">
              <dt>Notes</dt>
              <dd class="pre">{c.notes}</dd>
            </div>
          )}
        </dl>
      )}
      <Sites clientId={c.id} role={role} />
      <Contacts clientId={c.id} role={role} />
    </section>
  );
}

const siteFields: FieldSpec[] = [
  { name: 'name', label: 'Name', required: true },
  { name: 'address', label: 'Address', type: 'textarea' },
  { name: 'timezone', label: 'Time zone', nullable: true, hint: 'Empty: the client’s' },
];

const subLimit = 20;

function Sites({ clientId, role }: { clientId: number; role: Role }) {
  const loc = useLocation();
  const page = pageOf(loc, 'sites_page');
  const list = useAsync(
    (signal) =>
      api<Page<Site>>('GET', `/clients/${clientId}/sites${qs({ limit: subLimit, offset: (page - 1) * subLimit })}`, undefined, {
        signal,
      }),
    [clientId, page],
  );
  const [edit, setEdit] = useState<number | 'new' | null>(null);
  const canEdit = role === 'owner' || role === 'admin' || role === 'client_admin';
  return (
    <>
      <div class="page-head">
        <h2>Sites</h2>
        {canEdit && edit === null && (
          <button type="button" class="secondary" onClick={() => setEdit('new')}>
            New site
          </button>
        )}
      </div>
      {edit === 'new' && (
        <div class="card">
          <RecordForm
            title="New site"
            fields={siteFields}
            submitLabel="Create site"
            onCancel={() => setEdit(null)}
            onSubmit={async (body) => {
              await api('POST', `/clients/${clientId}/sites`, body);
              setEdit(null);
              list.reload();
            }}
          />
        </div>
      )}
      {list.error ? (
        <LoadError error={list.error} what="The sites" />
      ) : !list.data ? (
        <Loading />
      ) : list.data.items.length === 0 ? (
        <p class="muted">No sites.</p>
      ) : (
        <ul class="records">
          {list.data.items.map((s) =>
            edit === s.id ? (
              <li key={s.id} class="card">
                <RecordForm
                  title={`Edit site ${s.name}`}
                  fields={siteFields}
                  initial={s as unknown as Record<string, unknown>}
                  submitLabel="Save site"
                  onCancel={() => setEdit(null)}
                  onSubmit={async (body) => {
                    await api('PATCH', `/sites/${s.id}`, body);
                    setEdit(null);
                    list.reload();
                  }}
                />
              </li>
            ) : (
              <li key={s.id}>
                <strong>{s.name}</strong>
                {s.address && <span class="muted"> · {s.address}</span>}
                {s.timezone && <span class="muted"> · {s.timezone}</span>}{' '}
                <a href={`/devices${qs({ client_id: clientId, site_id: s.id })}`}>Devices</a>
                {canEdit && edit === null && (
                  <button type="button" class="link" onClick={() => setEdit(s.id)} aria-label={`Edit site ${s.name}`}>
                    Edit
                  </button>
                )}
              </li>
            ),
          )}
        </ul>
      )}
      {list.data && (list.data.total > subLimit || page > 1) && (
        <Pager loc={loc} total={list.data.total} limit={subLimit} param="sites_page" />
      )}
    </>
  );
}

function Contacts({ clientId, role }: { clientId: number; role: Role }) {
  const loc = useLocation();
  const page = pageOf(loc, 'contacts_page');
  // The site picker: every site (a client with more than 200 sites picks among the first 200).
  const sites = useAsync(
    (signal) => api<Page<Site>>('GET', `/clients/${clientId}/sites?limit=200`, undefined, { signal }),
    [clientId],
  );
  const list = useAsync(
    (signal) =>
      api<Page<Contact>>(
        'GET',
        `/clients/${clientId}/contacts${qs({ limit: subLimit, offset: (page - 1) * subLimit })}`,
        undefined,
        { signal },
      ),
    [clientId, page],
  );
  const [edit, setEdit] = useState<number | 'new' | null>(null);
  const canEdit = ['owner', 'admin', 'dispatcher', 'client_admin'].includes(role);
  const fields: FieldSpec[] = [
    { name: 'name', label: 'Name', required: true },
    { name: 'email', label: 'E-mail', type: 'email' },
    { name: 'phone', label: 'Phone' },
    { name: 'title', label: 'Title' },
    {
      name: 'site_id',
      label: 'Site',
      type: 'select',
      nullable: true,
      options: [['', 'No site'], ...(sites.data?.items ?? []).map((s) => [String(s.id), s.name] as [string, string])],
    },
    { name: 'is_primary', label: 'Primary contact', type: 'checkbox' },
    { name: 'is_billing', label: 'Billing contact', type: 'checkbox' },
    { name: 'is_technical', label: 'Technical contact', type: 'checkbox' },
  ];
  const fix = (body: Record<string, unknown>) => {
    if (typeof body.site_id === 'string') body.site_id = Number(body.site_id);
    return body;
  };
  return (
    <>
      <div class="page-head">
        <h2>Contacts</h2>
        {canEdit && edit === null && (
          <button type="button" class="secondary" onClick={() => setEdit('new')}>
            New contact
          </button>
        )}
      </div>
      {edit === 'new' && (
        <div class="card">
          <RecordForm
            title="New contact"
            fields={fields}
            submitLabel="Create contact"
            onCancel={() => setEdit(null)}
            onSubmit={async (body) => {
              await api('POST', `/clients/${clientId}/contacts`, fix(body));
              setEdit(null);
              list.reload();
            }}
          />
        </div>
      )}
      {list.error ? (
        <LoadError error={list.error} what="The contacts" />
      ) : !list.data ? (
        <Loading />
      ) : list.data.items.length === 0 ? (
        <p class="muted">No contacts.</p>
      ) : (
        <ul class="records">
          {list.data.items.map((c) =>
            edit === c.id ? (
              <li key={c.id} class="card">
                <RecordForm
                  title={`Edit contact ${c.name}`}
                  fields={fields}
                  initial={c as unknown as Record<string, unknown>}
                  submitLabel="Save contact"
                  onCancel={() => setEdit(null)}
                  onSubmit={async (body) => {
                    await api('PATCH', `/contacts/${c.id}`, fix(body));
                    setEdit(null);
                    list.reload();
                  }}
                />
              </li>
            ) : (
              <li key={c.id}>
                <strong>{c.name}</strong>
                {c.title && <span class="muted"> · {c.title}</span>}
                {c.email && (
                  <>
                    {' '}
                    · <a href={`mailto:${c.email}`}>{c.email}</a>
                  </>
                )}
                {c.phone && <span> · {c.phone}</span>}
                {c.is_primary && <span class="tag">primary</span>}
                {c.is_billing && <span class="tag">billing</span>}
                {c.is_technical && <span class="tag">technical</span>}
                {canEdit && edit === null && (
                  <button type="button" class="link" onClick={() => setEdit(c.id)} aria-label={`Edit contact ${c.name}`}>
                    Edit
                  </button>
                )}
              </li>
            ),
          )}
        </ul>
      )}
      {list.data && (list.data.total > subLimit || page > 1) && (
        <Pager loc={loc} total={list.data.total} limit={subLimit} param="contacts_page" />
      )}
    </>
  );
}
