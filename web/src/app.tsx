// The shell: who is signed in, the navigation their role allows, and which page the URL names.
//
// Staff work in the console (/...); client contacts in the portal (/portal/...). Both share the
// API and its roles: the navigation only hides what a role cannot use, the server refuses it.
// When the session ends (sign-out elsewhere, expiry), the sign-in form replaces the page and the
// URL stays, so signing in again returns to the same view.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, isStaff, onBusy, onSessionExpired, type Role, type Session, setCsrfToken } from './api';
import { setLive, useLiveState } from './live';
import { match, navigate, onLinkClick, useLocation } from './router';
import { Loading } from './components/ui';
import { AccountPage } from './pages/account';
import { ClientPage, ClientsPage } from './pages/clients';
import { DevicePage } from './pages/device';
import { DevicesPage } from './pages/devices';
import { LoginPage } from './pages/login';
import { OverviewPage } from './pages/overview';
import { PortalHome } from './pages/portal';
import { TokensPage } from './pages/tokens';
import { UsersPage } from './pages/users';

type Auth = { state: 'checking' } | { state: 'out'; expired: boolean } | { state: 'in'; session: Session };

export function App() {
  const loc = useLocation();
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [busy, setBusy] = useState(false);

  useEffect(() => onBusy(setBusy), []);
  useEffect(() => {
    api<Session>('GET', '/auth/me', undefined, { quiet401: true }).then(
      (s) => signedIn(s),
      () => setAuth({ state: 'out', expired: false }),
    );
    return onSessionExpired(() => {
      setLive(false);
      setAuth((a) => (a.state === 'in' ? { state: 'out', expired: true } : a));
    });
  }, []);

  function signedIn(s: Session) {
    setCsrfToken(s.csrf_token);
    setAuth({ state: 'in', session: s });
    setLive(true);
  }

  async function signOut() {
    try {
      await api('POST', '/auth/logout');
    } catch {
      // Signed out either way.
    }
    setLive(false);
    setCsrfToken('');
    setAuth({ state: 'out', expired: false });
    navigate(loc.path.startsWith('/portal') ? '/portal' : '/');
  }

  const portal = loc.path === '/portal' || loc.path.startsWith('/portal/');

  // Client contacts belong in the portal, staff in the console.
  useEffect(() => {
    if (auth.state !== 'in') return;
    const staff = isStaff(auth.session.user.role);
    if (!staff && !portal) navigate('/portal', { replace: true });
    if (staff && portal) navigate('/', { replace: true });
  }, [auth, portal]);

  let body: ComponentChildren;
  if (auth.state === 'checking') {
    body = <Loading what="Starting" />;
  } else if (auth.state === 'out') {
    return <LoginPage portal={portal} expired={auth.expired} onSignedIn={signedIn} />;
  } else {
    body = <Routes session={auth.session} portal={portal} onSession={signedIn} />;
  }
  const role = auth.state === 'in' ? auth.session.user.role : undefined;
  return (
    <div class={`shell${portal ? ' portal' : ''}`} onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <div class={`progress${busy ? ' on' : ''}`} role="progressbar" aria-label="Loading" aria-hidden={!busy} />
      {auth.state === 'in' && (
        <Header session={auth.session} role={role!} portal={portal} path={loc.path} onSignOut={signOut} />
      )}
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </div>
  );
}

function Header(props: { session: Session; role: Role; portal: boolean; path: string; onSignOut: () => void }) {
  const { session, role, portal, path } = props;
  const [open, setOpen] = useState(false);
  const live = useLiveState();
  useEffect(() => setOpen(false), [path]);
  const links: [string, string][] = portal
    ? [
        ['/portal', 'Devices'],
        ...(role === 'client_admin' ? ([['/portal/users', 'Users']] as [string, string][]) : []),
        ['/portal/account', 'Account'],
      ]
    : [
        ['/', 'Overview'],
        ['/devices', 'Devices'],
        ['/clients', 'Clients'],
        ...(role === 'owner' || role === 'admin' ? ([['/users', 'Users']] as [string, string][]) : []),
        ['/tokens', 'API tokens'],
        ['/account', 'Account'],
      ];
  const home = portal ? '/portal' : '/';
  const active = (href: string) =>
    href === home ? path === home : path === href || path.startsWith(href + '/');
  return (
    <header class="top">
      <a class="brand" href={home}>
        Vigil<span class="muted">{portal ? ' portal' : ''}</span>
      </a>
      <button
        type="button"
        class="menu-toggle"
        aria-expanded={open}
        aria-controls="nav"
        onClick={() => setOpen(!open)}
      >
        Menu
      </button>
      <nav id="nav" class={open ? 'open' : ''} aria-label="Main">
        <ul>
          {links.map(([href, text]) => (
            <li key={href}>
              <a href={href} aria-current={active(href) ? 'page' : undefined}>
                {text}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="who">
        <span class={`live live-${live}`} title="Live updates" role="status">
          {{ live: 'Live', connecting: 'Connecting…', retrying: 'Reconnecting…', off: 'Not live' }[live]}
        </span>
        <span class="muted user-name">{session.user.name || session.user.email}</span>
        <button type="button" class="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function Routes({ session, portal, onSession }: { session: Session; portal: boolean; onSession: (s: Session) => void }) {
  const loc = useLocation();
  const p = loc.path;
  const role = session.user.role;
  let m: Record<string, string> | null;

  useEffect(() => {
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [p]);

  if (session.mfa_enrollment_required && p !== '/account' && p !== '/portal/account') {
    return <AccountPage session={session} onSession={onSession} mfaRequired />;
  }
  if (portal) {
    if (p === '/portal') return <PortalHome session={session} />;
    if ((m = match('/portal/devices/:id', p))) return <DevicePage id={m.id} portal />;
    if (p === '/portal/users' && role === 'client_admin') return <UsersPage session={session} portal />;
    if (p === '/portal/account') return <AccountPage session={session} onSession={onSession} />;
    return <NotFound />;
  }
  if (p === '/') return <OverviewPage />;
  if (p === '/devices') return <DevicesPage />;
  if ((m = match('/devices/:id', p))) return <DevicePage id={m.id} />;
  if (p === '/clients') return <ClientsPage role={role} />;
  if ((m = match('/clients/:id', p))) return <ClientPage id={m.id} role={role} />;
  if (p === '/users') return <UsersPage session={session} />;
  if (p === '/tokens') return <TokensPage session={session} />;
  if (p === '/account') return <AccountPage session={session} onSession={onSession} />;
  return <NotFound />;
}

function NotFound() {
  useEffect(() => {
    document.title = 'Not found · Vigil';
  }, []);
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <a href="/">Go to the start page</a>.
      </p>
    </section>
  );
}
