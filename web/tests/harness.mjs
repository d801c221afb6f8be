// What the browser tests run against: a real vigild (SQLite in a temporary folder) serving the
// built console, a real vigil-agent enrolled with it, and Debian's Chromium driven by
// playwright-core. Also the pieces the tests share: TOTP codes, axe-core checks, screenshots.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const webDir = resolve(here, '..');
const repo = resolve(webDir, '..');
const binDir = process.env.VIGIL_BIN_DIR ?? join(repo, 'build/release/src');
export const artefacts = process.env.VIGIL_TEST_ARTEFACTS ?? join(webDir, 'test-results');
export const ownerEmail = 'owner@vigil.localhost';
export const ownerPassword = 'correct horse battery staple';

function waitForLine(proc, re, what, ms = 20_000) {
  return new Promise((resolveLine, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no "${re}" within ${ms} ms; output:\n${buf}`)), ms);
    const onData = (d) => {
      buf += d.toString();
      const m = buf.match(re);
      if (m) {
        clearTimeout(timer);
        resolveLine(m);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${buf}`));
    });
  });
}

function run(cmd, args) {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')} → ${code}\n${out}`))));
  });
}

// Starts vigild (with the console from web/dist) and, unless `agent` is false, an enrolled local
// agent. `args` adds vigild options.
export async function startVigil({ agent: withAgent = true, args = [] } = {}) {
  const dist = join(webDir, 'dist');
  if (!existsSync(join(dist, 'index.html'))) throw new Error('web/dist is missing: run `npm run build` first');
  for (const b of ['server/vigild', 'agent/vigil-agent']) {
    if (!existsSync(join(binDir, b))) throw new Error(`${join(binDir, b)} is missing: build vigild and vigil-agent first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vigil-web-'));
  const tokenFile = join(dir, 'local.token');
  const vigild = spawn(
    join(binDir, 'server/vigild'),
    ['--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--web', dist, '--local-agent-token', tokenFile, ...args],
    { env: { ...process.env, VIGIL_OWNER_EMAIL: ownerEmail, VIGIL_OWNER_PASSWORD: ownerPassword }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const m = await waitForLine(vigild, /listening on 127\.0\.0\.1:(\d+)/, 'vigild');
  const base = `http://127.0.0.1:${m[1]}`;
  const agentState = join(dir, 'agent');
  if (withAgent) await run(join(binDir, 'agent/vigil-agent'), ['enroll', '--server', base, '--token', readFileSync(tokenFile, 'utf8').trim(), '--state', agentState]);
  const agent = withAgent
    ? spawn(join(binDir, 'agent/vigil-agent'), ['run', '--state', agentState], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
  let agentLog = '';
  agent.stdout.on('data', (d) => (agentLog += d));
  agent.stderr.on('data', (d) => (agentLog += d));
  const stopped = (p) => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)));
  return {
    base,
    dir,
    agentLog: () => agentLog,
    async stop() {
      agent.kill('SIGTERM');
      vigild.kill('SIGTERM');
      await Promise.race([Promise.all([stopped(agent), stopped(vigild)]), new Promise((r) => setTimeout(r, 15_000))]);
      agent.kill('SIGKILL');
      vigild.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A JSON API client with its own session (for setting up what the browser then looks at).
export async function apiSession(base, email, password, extra = {}) {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, ...extra }),
  });
  if (!r.ok) throw new Error(`sign-in as ${email}: ${r.status} ${await r.text()}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token } = await r.json();
  return async (method, path, body) => {
    const resp = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { Cookie: cookie, 'X-CSRF-Token': csrf_token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await resp.text();
    if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

// RFC 6238 TOTP (SHA1, 6 digits, 30 s), as authenticator apps compute it.
export function totp(base32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

// Waits into the next 30 s step (each TOTP code works once).
export async function nextTotpStep(after) {
  const step = (t) => Math.floor(t / 30_000);
  while (step(Date.now()) <= step(after)) await new Promise((r) => setTimeout(r, 250));
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// A page that records what goes wrong in it: console errors (a CSP violation is one) and
// uncaught exceptions. The tests assert that list stays empty.
export async function newPage(browser, base, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ baseURL: base, viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    // The API's 4xx answers are expected (validation, refusals); Chromium logs each one.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      page.problems.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => page.problems.push(`exception: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 500) page.problems.push(`${r.status()} from ${r.url()}`);
  });
  return page;
}

const axeSource = readFileSync(join(webDir, 'node_modules/axe-core/axe.min.js'), 'utf8');

// axe-core on the page as it is: returns the violations of serious or critical impact.
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'], runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }),
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

export async function screenshot(page, name) {
  mkdirSync(artefacts, { recursive: true });
  await page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });
}

// The page fits its viewport: no sideways scrolling of the whole page (tables scroll inside
// their own box).
export async function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

export async function until(fn, what, ms = 30_000, every = 250) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}
