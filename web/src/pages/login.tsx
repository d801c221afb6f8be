// Sign-in, in two steps when the account has two-factor authentication: the password first; the
// API then asks for totp_code (401 naming that field), and the form asks for the code. A recovery
// code can stand in for the code.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Session } from '../api';
import { FormError, Notice, TextField } from '../components/ui';

export function LoginPage(props: { portal: boolean; expired: boolean; onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [step, setStep] = useState<'password' | 'code'>('password');
  const [useRecovery, setUseRecovery] = useState(false);
  const [code, setCode] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = props.portal ? 'Sign in · Vigil client portal' : 'Sign in · Vigil';
  }, [props.portal]);
  useEffect(() => {
    if (step === 'code') codeRef.current?.focus();
  }, [step, useRecovery]);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: Record<string, string> = { email, password };
    if (step === 'code') body[useRecovery ? 'recovery_code' : 'totp_code'] = code.trim();
    try {
      const s = await api<Session>('POST', '/auth/login', body, { quiet401: true });
      props.onSignedIn(s);
    } catch (err) {
      const ae = err as ApiError;
      if (step === 'password' && ae.status === 401 && ae.field('totp_code')) {
        setStep('code');
      } else {
        setError(ae);
      }
    } finally {
      setBusy(false);
    }
  }

  const title = props.portal ? 'Client portal' : 'Vigil console';
  return (
    <main id="main" class="login">
      <form class="card login-card" onSubmit={submit} noValidate>
        <h1>{title}</h1>
        <p class="muted">
          {props.portal
            ? 'Sign in to see your company’s devices and requests.'
            : 'Sign in to monitor and manage your clients’ machines.'}
        </p>
        {props.expired && <Notice kind="info">Your session has ended. Sign in again to continue where you were.</Notice>}
        {error && error.status === 429 ? (
          <Notice kind="error">{error.detail}</Notice>
        ) : (
          <FormError error={error} shown={['email', 'password', 'totp_code', 'recovery_code']} />
        )}
        {step === 'password' ? (
          <>
            <TextField
              label="E-mail"
              name="email"
              type="email"
              autoComplete="username"
              required
              value={email}
              error={error}
              onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
            />
            <TextField
              label="Password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              error={error}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </>
        ) : (
          <>
            <p>
              Signing in as <strong>{email}</strong>.
            </p>
            <TextField
              inputRef={codeRef}
              label={useRecovery ? 'Recovery code' : 'Code from your authenticator app'}
              name={useRecovery ? 'recovery_code' : 'totp_code'}
              inputMode={useRecovery ? 'text' : 'numeric'}
              autoComplete="one-time-code"
              pattern={useRecovery ? undefined : '[0-9]*'}
              maxLength={useRecovery ? 20 : 8}
              required
              value={code}
              error={error}
              onInput={(e) => setCode((e.target as HTMLInputElement).value)}
            />
            <button
              type="button"
              class="link"
              onClick={() => {
                setUseRecovery(!useRecovery);
                setCode('');
                setError(undefined);
              }}
            >
              {useRecovery ? 'Use the code from the app instead' : 'Lost your device? Use a recovery code'}
            </button>
          </>
        )}
        <div class="actions">
          {step === 'code' && (
            <button
              type="button"
              class="secondary"
              onClick={() => {
                setStep('password');
                setCode('');
                setError(undefined);
              }}
            >
              Back
            </button>
          )}
          <button type="submit" disabled={busy}>
            {busy ? 'Signing in…' : step === 'code' ? 'Verify' : 'Sign in'}
          </button>
        </div>
      </form>
    </main>
  );
}
