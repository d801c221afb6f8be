// Your own account: two-factor authentication (set up with any authenticator app; ten recovery
// codes shown once) and the password. When the owner requires two-factor for staff, this page is
// all a staff member without it can reach.
import { useEffect, useState } from 'preact/hooks';
import { api, type Session } from '../api';
import { RecordForm } from '../components/record_form';
import { Notice } from '../components/ui';

export function AccountPage({ session, onSession, mfaRequired = false }: { session: Session; onSession: (s: Session) => void; mfaRequired?: boolean }) {
  const u = session.user;
  const [setup, setSetup] = useState<{ secret: string; otpauth_uri: string }>();
  const [codes, setCodes] = useState<string[]>();
  const [msg, setMsg] = useState<string>();
  useEffect(() => {
    document.title = 'Account · Vigil';
  }, []);
  const refresh = async () => onSession(await api<Session>('GET', '/auth/me'));

  return (
    <section>
      <h1>Your account</h1>
      {mfaRequired && (
        <Notice kind="info">Your organisation requires two-factor authentication. Set it up below to continue.</Notice>
      )}
      {msg && <Notice kind="ok">{msg}</Notice>}
      <dl class="facts">
        <div>
          <dt>E-mail</dt>
          <dd>{u.email}</dd>
        </div>
        <div>
          <dt>Name</dt>
          <dd>{u.name || '—'}</dd>
        </div>
        <div>
          <dt>Role</dt>
          <dd>{u.role.replace('_', ' ')}</dd>
        </div>
      </dl>

      <h2>Two-factor authentication</h2>
      {codes ? (
        <div class="card">
          <p>
            Two-factor authentication is on. Keep these recovery codes somewhere safe; each works once, and they are not shown
            again:
          </p>
          <ul class="codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => setCodes(undefined)}>
            I have saved them
          </button>
        </div>
      ) : u.totp_enabled ? (
        <div class="card">
          <p>
            On. {session.recovery_codes_left ?? 0} recovery codes left.
          </p>
          <h3>Turn it off</h3>
          <RecordForm
            fields={[
              { name: 'password', label: 'Password', type: 'password', autoComplete: 'current-password', required: true },
              { name: 'code', label: 'Code or recovery code', required: true, autoComplete: 'one-time-code' },
            ]}
            submitLabel="Turn off two-factor"
            onSubmit={async (body) => {
              await api('POST', '/auth/totp/disable', body);
              setMsg('Two-factor authentication is off.');
              await refresh();
            }}
          />
        </div>
      ) : setup ? (
        <div class="card">
          <p>
            Add this key to your authenticator app (or open the link on the phone that has it), then enter the code it shows.
          </p>
          <p>
            Key: <code class="secret">{setup.secret.replace(/(.{4})/g, '$1 ').trim()}</code>
          </p>
          <p>
            <a href={setup.otpauth_uri}>Open in authenticator app</a>
          </p>
          <RecordForm
            fields={[{ name: 'code', label: 'Code from the app', required: true, autoComplete: 'one-time-code' }]}
            submitLabel="Turn on two-factor"
            onCancel={() => setSetup(undefined)}
            onSubmit={async (body) => {
              const r = await api<{ recovery_codes: string[] }>('POST', '/auth/totp/confirm', body);
              setSetup(undefined);
              setCodes(r.recovery_codes);
              await refresh();
            }}
          />
        </div>
      ) : (
        <p>
          Off.{' '}
          <button type="button" onClick={async () => setSetup(await api('POST', '/auth/totp/setup', {}))}>
            Set up two-factor
          </button>
        </p>
      )}

      {!mfaRequired && (
        <>
          <h2>Password</h2>
          <div class="card">
            <RecordForm
              fields={[
                { name: 'current_password', label: 'Current password', type: 'password', autoComplete: 'current-password', required: true },
                { name: 'new_password', label: 'New password', type: 'password', autoComplete: 'new-password', required: true, hint: 'At least 12 characters' },
              ]}
              submitLabel="Change password"
              onSubmit={async (body) => {
                await api('POST', '/auth/password', body);
                setMsg('Password changed. Your other sessions were signed out.');
              }}
            />
          </div>
        </>
      )}
    </section>
  );
}
