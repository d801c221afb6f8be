// End-to-end: the console and the portal in Debian's Chromium against a real vigild and agent.
// Runs in the README's test command (scripts/test.sh); screenshots land in web/test-results/.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  apiSession,
  axeViolations,
  horizontalOverflow,
  launchBrowser,
  newPage,
  nextTotpStep,
  ownerEmail,
  ownerPassword,
  screenshot,
  startVigil,
  totp,
  until,
} from './harness.mjs';

let vigil;
let browser;
let page; // the owner's tab, used from test to test in order
let totpSecret;
let totpUsedAt = 0;
let deviceId;
let recoveryCodes = [];
let admin; // an API session of a second staff account (the owner's sessions end when TOTP goes on)
const acme = { name: 'Acme Dental', user: 'weber@acme.example', password: 'acme contact password 1' };

async function expectClean(p, name) {
  const v = await axeViolations(p);
  assert.deepEqual(v, [], `axe-core on ${name}`);
  assert.deepEqual(p.problems.splice(0), [], `errors in the page on ${name}`);
}

// A link of the main navigation.
const nav = (p, name) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

async function signIn(p, email, password) {
  await p.getByLabel('E-mail').fill(email);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

describe('console and portal in a real browser', () => {
  before(async () => {
    vigil = await startVigil();
    const owner = await apiSession(vigil.base, ownerEmail, ownerPassword);
    await owner('POST', '/users', { email: 'ops@msp.example', name: 'Ops', role: 'admin', password: 'ops admin password 1' });
    admin = await apiSession(vigil.base, 'ops@msp.example', 'ops admin password 1');
    browser = await launchBrowser();
    page = await newPage(browser, vigil.base);
  });
  after(async () => {
    await browser?.close();
    await vigil?.stop();
  });

  it('signs in with the keyboard and shows the local device in the overview', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Vigil console' }).waitFor();
    await expectClean(page, 'sign-in');
    await screenshot(page, '01-sign-in');
    // Keyboard only: the e-mail field has focus after one Tab from the skip target.
    await page.getByLabel('E-mail').focus();
    await page.keyboard.type(ownerEmail);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ownerPassword);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    // The local agent reports within seconds; the overview lists it under "Internal IT".
    await until(async () => {
      await page.reload();
      await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
      return (await page.getByRole('rowheader', { name: 'Internal IT' }).count()) === 1;
    }, 'the local device in the overview', 60_000);
    const devicesCard = page.locator('.stat-devices .count');
    assert.equal(await devicesCard.textContent(), '1');
    await expectClean(page, 'overview');
    await screenshot(page, '02-overview');
  });

  it('turns on two-factor authentication and signs in with a TOTP code', async () => {
    await nav(page, 'Account').click();
    await page.getByRole('button', { name: 'Set up two-factor' }).click();
    totpSecret = (await page.locator('code.secret').textContent()).replace(/\s/g, '');
    await expectClean(page, 'account (TOTP setup)');
    totpUsedAt = Date.now();
    await page.getByLabel('Code from the app').fill(totp(totpSecret, totpUsedAt));
    await page.getByRole('button', { name: 'Turn on two-factor' }).click();
    await page.getByText('Keep these recovery codes somewhere safe').waitFor();
    recoveryCodes = await page.locator('ul.codes li').allTextContents();
    assert.equal(recoveryCodes.length, 10);
    await page.getByRole('button', { name: 'I have saved them' }).click();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Vigil console' }).waitFor();
    await signIn(page, ownerEmail, ownerPassword);
    const code = page.getByLabel('Code from your authenticator app');
    await code.waitFor();
    await screenshot(page, '03-sign-in-code');
    // A wrong code: the API's message, still on the code step.
    await code.fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').waitFor();
    await nextTotpStep(totpUsedAt);
    totpUsedAt = Date.now();
    await code.fill(totp(totpSecret, totpUsedAt));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
  });

  it('creates a client with the API’s validation messages, a site, a contact and a portal user', async () => {
    await nav(page, 'Clients').click();
    await page.getByRole('button', { name: 'New client' }).click();
    await page.getByLabel('Name').fill(acme.name);
    await page.getByLabel('Time zone').fill('Mars/Olympus');
    await page.getByRole('button', { name: 'Create client' }).click();
    // The API's own message under the field it named.
    const tzError = page.locator('.field.invalid .field-error');
    await tzError.waitFor();
    assert.match(await tzError.textContent(), /time zone|timezone|IANA/i);
    await expectClean(page, 'clients (validation error)');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('heading', { name: acme.name }).waitFor();
    assert.match(page.url(), /\/clients\/\d+/);

    await page.getByRole('button', { name: 'New site' }).click();
    await page.getByLabel('Name').fill('Main office');
    await page.getByLabel('Address').fill('Hauptstr. 1, Berlin');
    await page.getByRole('button', { name: 'Create site' }).click();
    await page.getByText('Main office').waitFor();

    await page.getByRole('button', { name: 'New contact' }).click();
    await page.getByLabel('Name').fill('Dr. Weber');
    await page.getByLabel('E-mail').fill('not an address');
    await page.getByRole('button', { name: 'Create contact' }).click();
    await page.locator('.field.invalid').first().waitFor();
    await page.getByLabel('E-mail').fill(acme.user);
    await page.getByLabel('Primary contact').check();
    await page.getByRole('button', { name: 'Create contact' }).click();
    await page.getByText('Dr. Weber').waitFor();
    await expectClean(page, 'client page');
    await screenshot(page, '04-client');

    // Edit: the change shows, and the URL is the client's.
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    await page.getByLabel('Employees').fill('12');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Changes saved.').waitFor();

    const clientId = Number(page.url().match(/\/clients\/(\d+)/)[1]);
    await nav(page, 'Users').click();
    await page.getByRole('button', { name: 'New user' }).click();
    const form = page.getByRole('form', { name: 'Create user' });
    await form.getByLabel('E-mail').fill(acme.user);
    await form.getByLabel('Name').fill('Dr. Weber');
    await form.getByLabel('Role', { exact: true }).selectOption('client_user');
    await form.getByLabel('Client (client roles only)').selectOption(String(clientId));
    await form.getByLabel('Password').fill(acme.password);
    await form.getByRole('button', { name: 'Create user' }).click();
    await page.getByText(`User ${acme.user} created.`).waitFor();
    await expectClean(page, 'users');
    await screenshot(page, '05-users');

    await nav(page, 'API tokens').click();
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByLabel('Name').fill('grafana');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.locator('code.secret').textContent();
    assert.match(secret, /^vgl_/);
    await expectClean(page, 'API tokens');
  });

  it('keeps list state in the URL and paginates on the server', async () => {
    // 30 more clients: the client list (25 a page) has two pages.
    for (let i = 0; i < 30; i++) await admin('POST', '/clients', { name: `Paging ${String(i).padStart(2, '0')}` });
    await page.goto('/clients?q=Paging');
    await page.getByText('1–25 of 30').waitFor();
    assert.equal(await page.locator('table.data tbody tr').count(), 25);
    await page.getByRole('link', { name: 'Next' }).click();
    await page.getByText('26–30 of 30').waitFor();
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('page'), '2');
    assert.equal(url.searchParams.get('q'), 'Paging');
    assert.equal(await page.locator('table.data tbody tr').count(), 5);
    // The same URL in a fresh load shows the same page.
    await page.reload();
    await page.getByText('26–30 of 30').waitFor();

    await page.goto('/devices?status=critical&sort=-failing_checks');
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    assert.equal(await page.getByLabel('Status').inputValue(), 'critical');
    await page.getByLabel('Presence').selectOption('online');
    await until(async () => new URL(page.url()).searchParams.get('presence') === 'online', 'presence in the URL');
    assert.equal(new URL(page.url()).searchParams.get('status'), 'critical');
    await page.goto('/devices');
    const row = page.locator('table.devices tbody tr').first();
    await row.waitFor();
    deviceId = Number(await row.getAttribute('data-device'));
    await expectClean(page, 'device list');
    await screenshot(page, '06-devices');
  });

  it('shows the device with its checks, a history chart and inventory', async () => {
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('heading', { name: 'Checks' }).waitFor();
    await page.locator('tr[data-check="cpu"]').waitFor();
    // A chart of CPU history: uPlot draws into a canvas.
    await page.locator('figure.chart', { hasText: 'CPU busy' }).locator('canvas').first().waitFor();
    await page.getByRole('heading', { name: 'Inventory' }).waitFor();
    await page.getByRole('link', { name: '7 days' }).click();
    await until(async () => new URL(page.url()).searchParams.get('range') === '7d', 'the range in the URL');
    await page.locator('figure.chart').first().waitFor();
    await page.getByRole('link', { name: '24 hours' }).click();
    await page.locator('figure.chart', { hasText: 'CPU busy' }).locator('canvas').first().waitFor();
    await expectClean(page, 'device page');
    await screenshot(page, '07-device');
  });

  it('updates the device page live when a check breaks', async () => {
    // A "service" the agent watches: a TCP listener, then stopped.
    const service = createServer((s) => s.end());
    await new Promise((r) => service.listen(0, '127.0.0.1', r));
    const port = service.address().port;
    await admin('PUT', `/devices/${deviceId}/config`, {
      override: {
        checks: {
          reachability: { interval_seconds: 10, timeout_seconds: 5, targets: [{ name: 'intranet', kind: 'tcp', address: '127.0.0.1', port }] },
        },
      },
    });
    await page.goto(`/devices/${deviceId}`);
    const row = page.locator('tr[data-check="reachability"][data-target="intranet"]');
    await row.locator('.badge.st-ok').waitFor({ timeout: 60_000 });
    // From here on no navigation: a marker in the window survives only without a reload.
    await page.evaluate(() => (window.__noReload = true));
    await new Promise((r) => service.close(r));
    await row.locator('.badge.st-critical').waitFor({ timeout: 60_000 });
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    await screenshot(page, '08-device-check-broken');
    assert.deepEqual(page.problems, []);
  });

  it('lets a client contact see only their company in the portal', async () => {
    const portal = await newPage(browser, vigil.base);
    await portal.goto('/portal');
    await portal.getByRole('heading', { name: 'Client portal' }).waitFor();
    await expectClean(portal, 'portal sign-in');
    await signIn(portal, acme.user, acme.password);
    await portal.getByRole('heading', { name: `${acme.name}: devices` }).waitFor();
    // The portal's navigation: no staff pages.
    assert.equal(await nav(portal, 'Clients').count(), 0);
    assert.equal(await nav(portal, 'Users').count(), 0);
    await expectClean(portal, 'portal home');
    await screenshot(portal, '09-portal');
    // Another client's device by URL: a clear refusal, no data.
    await portal.goto(`/portal/devices/${deviceId}`);
    const refusal = portal.getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /does not exist, or you are not allowed to see it/);
    assert.equal(await portal.locator('table.checks').count(), 0);
    await expectClean(portal, 'portal refusal');
    await screenshot(portal, '10-portal-refusal');
    // The console's URL of that device sends a client contact back to the portal.
    await portal.goto(`/devices/${deviceId}`);
    await until(async () => new URL(portal.url()).pathname === '/portal', 'the redirect to the portal');
    await portal.context().close();

    // A client admin of the same company: the navigation adds their company's users, and only
    // theirs.
    const clients = await admin('GET', `/clients?q=${encodeURIComponent(acme.name)}`);
    const acmeId = clients.items[0].id;
    await admin('POST', '/users', { email: 'it@acme.example', name: 'Acme IT', role: 'client_admin', client_id: acmeId, password: 'acme admin password 1' });
    const clientAdmin = await newPage(browser, vigil.base);
    await clientAdmin.goto('/portal');
    await signIn(clientAdmin, 'it@acme.example', 'acme admin password 1');
    await nav(clientAdmin, 'Users').click();
    await clientAdmin.getByRole('heading', { name: 'Users' }).waitFor();
    await clientAdmin.getByRole('rowheader', { name: acme.user }).waitFor();
    const emails = await clientAdmin.locator('table.data tbody th').allTextContents();
    assert.deepEqual(emails.sort(), ['it@acme.example', acme.user].sort());
    await expectClean(clientAdmin, 'portal users (client admin)');
    await clientAdmin.context().close();
  });

  it('works on a 390 px phone screen', async () => {
    const phone = await newPage(browser, vigil.base, { width: 390, height: 844 });
    await phone.goto('/');
    await signIn(phone, ownerEmail, ownerPassword);
    // This time with a recovery code instead of the app.
    await phone.getByRole('button', { name: 'Lost your device? Use a recovery code' }).click();
    await phone.getByLabel('Recovery code').fill(recoveryCodes[0]);
    await phone.getByRole('button', { name: 'Verify' }).click();
    await phone.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    assert.ok((await horizontalOverflow(phone)) <= 0, 'overview fits 390 px');
    await screenshot(phone, '11-phone-overview');
    await phone.getByRole('button', { name: 'Menu' }).click();
    await nav(phone, 'Devices').click();
    await phone.getByRole('heading', { name: 'Devices' }).waitFor();
    await phone.goto(`/devices/${deviceId}`);
    await phone.locator('figure.chart canvas').first().waitFor();
    assert.ok((await horizontalOverflow(phone)) <= 0, 'device page fits 390 px');
    await expectClean(phone, 'device page on a phone');
    await screenshot(phone, '12-phone-device');
    await phone.context().close();
  });

  it('notices an ended session by itself and returns to the same page', async () => {
    await page.goto('/clients?status=active');
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    // The session ends elsewhere (sign-out from another tab, expiry): the cookie stops working.
    const cookies = await page.context().cookies();
    await fetch(`${vigil.base}/api/v1/auth/logout`, {
      method: 'POST',
      headers: {
        Cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '),
        'X-CSRF-Token': await page.evaluate(async () => (await (await fetch('/api/v1/auth/me')).json()).csrf_token),
      },
    });
    // vigild closes the page's event stream at once; the page notices by itself, without a click,
    // and keeps its URL.
    await page.getByText('Your session has ended').waitFor();
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/clients?status=active');
    await signIn(page, ownerEmail, ownerPassword);
    await page.getByLabel('Code from your authenticator app').fill(await freshCode());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    assert.equal(await page.getByLabel('Status').inputValue(), 'active');
  });
});

// A TOTP code not used before (waits for the next 30 s step when needed).
async function freshCode() {
  await nextTotpStep(totpUsedAt);
  totpUsedAt = Date.now();
  return totp(totpSecret, totpUsedAt);
}
