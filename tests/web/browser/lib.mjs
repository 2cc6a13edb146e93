// lib.mjs -- what every browser test of the apps stands on (issue 16):
// Debian's Chromium driven headless by playwright-core (never a
// downloaded browser), pages of the apps that wishd serves, a signed-in
// session put in place the way the app keeps it, screenshots under
// build/screens/ for review, and an axe-core audit.
//
// The world (redis-server, wishd with its HTTP port, tokens) is made by
// tests/integration/test_browser.c, which runs each *.test.mjs of this
// folder with:
//   WISH_URL        http://127.0.0.1:PORT/ (the apps)
//   WISH_TOKENS     a JSON map role -> {token, user, role, region,
//                   expires} of ready sessions (operator tokens): resident,
//                   volunteer, coordinator, admin
//   WISH_SCREENS    the folder for screenshots (build/screens)
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { connect } from '../../../clients/web/src/client/wish.js';

// The packages are the apps' (clients/web/node_modules, make web-deps).
const require = createRequire(
  new URL('../../../clients/web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const WebSocket = require('ws');

export const URL_BASE = process.env.WISH_URL || 'http://127.0.0.1:7480/';
// wishd's WebSocket endpoint, beside the apps.
export const WS_URL = URL_BASE.replace(/^http/, 'ws').replace(/\/?$/, '/ws');
export const TOKENS = JSON.parse(process.env.WISH_TOKENS || '{}');
export const SCREENS = process.env.WISH_SCREENS || 'build/screens';
export const CHROMIUM = process.env.WISH_CHROMIUM || '/usr/bin/chromium';

// A phone held upright, and a station's desk screen.
export const PHONE = { width: 360, height: 740 };
export const DESK = { width: 1366, height: 900 };

// Starts Chromium headless. One per test file; close it in an after().
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// A test file's Chromium and its clients over the wire (the apps' client
// module on `ws`, as a person's other device or the staff's tools would
// talk to wishd), for the files that drive the apps and wishd both.
// Call once at the top level: it registers a before() that launches the
// browser and an after() that closes every client it made, then the
// browser. Returns {browser (set once before() ran), session(who): a
// client that said hello as TOKENS[who] (who a role name) or as
// {token}, anon(): a client that said no hello (auth.signup)}.
export function wireSuite() {
  const clients = [];
  const anon = () => {
    const c = connect(WS_URL, { WebSocket, callTimeoutMs: 20000 });
    clients.push(c);
    return c;
  };
  const suite = {
    browser: null,
    anon,
    async session(who) {
      const c = anon();
      await c.hello(typeof who === 'string' ? TOKENS[who].token : who.token);
      return c;
    },
  };
  before(async () => { suite.browser = await launch(); });
  after(async () => {
    for (const c of clients) await c.close({ waitMs: 500 }).catch(() => {});
    await suite.browser?.close();
  });
  return suite;
}

// A fresh browser context (its own storage: one person) and a page in it.
// opts: viewport (PHONE by default), locale ('zh-CN' by default),
// geolocation {latitude, longitude} (granted), timezoneId, csp (true:
// wishd's Content-Security-Policy holds; then axeSerious cannot run).
export async function openPage(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || PHONE,
    locale: opts.locale || 'zh-CN',
    timezoneId: opts.timezoneId || 'Asia/Shanghai',
    geolocation: opts.geolocation,
    permissions: opts.geolocation ? ['geolocation'] : [],
    serviceWorkers: 'block', // the tests load fresh builds every time
    // wishd's Content-Security-Policy forbids inline scripts, rightly;
    // axe-core is injected as one (axeSerious), so the tests bypass it.
    bypassCSP: !opts.csp,
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => { page._mwErrors = (page._mwErrors || []).concat(String(e)); });
  return { context, page };
}

// Opens the app at `hash` ('#/volunteer') signed in as `who` (a key of
// TOKENS, or {token, user, role, region, expires}): the session is
// stored as the app keeps a log-in (clients/web/src/lib/store.js, key
// "mw.login"), then the page loads.
export async function openAs(page, who, hash) {
  const t = sessionOf(who);
  await page.goto(URL_BASE + '#/login');
  await page.evaluate((v) => localStorage.setItem('mw.login', v), loginRecord(t));
  await page.goto(URL_BASE + hash);
  await page.reload();
  return t;
}

// The session of `who` (a key of TOKENS, or the session itself).
function sessionOf(who) {
  const t = typeof who === 'string' ? TOKENS[who] : who;
  if (!t || !t.token) throw new Error(`no token for ${JSON.stringify(who)}`);
  return t;
}

// A session as the app stores a log-in ("mw.login"), in JSON.
function loginRecord(t) {
  return JSON.stringify({
    city: t.region.split('/')[0], token: t.token, expires: t.expires,
    user: t.user, role: t.role, region: t.region, status: 'active',
  });
}

// The first load of a page, measured in a fresh context (nothing
// cached, signed in as `who` before any script of the app runs): opens
// URL_BASE + hash and waits for the page's mark "mw:ready:<name>"
// (clients/web/src/lib/ready.js: its own data on screen). Returns
//   readyMs     the mark's time since the navigation began
//   domMs       DOMContentLoaded's end
//   jsCssBytes  JS and CSS as they came over the wire (transferSize:
//               compressed when wishd sent them compressed)
//   jsCssRaw    the same, decoded
//   longTasks   the durations (ms) of the long tasks until then
// opts go to openPage (viewport: PHONE by default).
export async function measureLoad(browser, who, hash, name, opts = {}) {
  const { context, page } = await openPage(browser, opts);
  await context.addInitScript((login) => {
    if (!localStorage.getItem('mw.login')) localStorage.setItem('mw.login', login);
    window.__mwLong = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__mwLong.push(Math.round(e.duration));
    }).observe({ type: 'longtask', buffered: true });
  }, loginRecord(sessionOf(who)));
  try {
    await page.goto(URL_BASE + hash);
    await page.waitForFunction(
      (n) => performance.getEntriesByName(`mw:ready:${n}`).length > 0, name,
      { timeout: 15000 });
    return await page.evaluate((n) => {
      const nav = performance.getEntriesByType('navigation')[0];
      const files = performance.getEntriesByType('resource')
        .filter((r) => /\.(js|css)(\?|$)/.test(new URL(r.name).pathname));
      const sum = (k) => files.reduce((a, r) => a + r[k], 0);
      return {
        readyMs: Math.round(performance.getEntriesByName(`mw:ready:${n}`)[0].startTime),
        domMs: Math.round(nav.domContentLoadedEventEnd),
        jsCssBytes: sum('transferSize'), jsCssRaw: sum('decodedBodySize'),
        files: files.length, longTasks: window.__mwLong.slice(),
      };
    }, name);
  } finally {
    await context.close();
  }
}

// Writes build/screens/<name>.png (full page) for people to look at.
// With { doc: true } it also writes build/screens/docs/<name>.jpg, the
// top of the page (at most DOC_MAX_HEIGHT pixels) as a JPEG small
// enough to keep in git: `make docs-screens` copies those to docs/apps/
// for docs/apps.md.
const DOC_MAX_HEIGHT = 1400;
export async function screenshot(page, name, { doc = false } = {}) {
  mkdirSync(SCREENS, { recursive: true });
  const path = join(SCREENS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (doc) {
    mkdirSync(join(SCREENS, 'docs'), { recursive: true });
    const { width, height } = await page.evaluate(() => ({
      width: document.documentElement.clientWidth,
      height: document.documentElement.scrollHeight,
    }));
    await page.screenshot({
      path: join(SCREENS, 'docs', `${name}.jpg`), type: 'jpeg', quality: 72,
      fullPage: true, clip: { x: 0, y: 0, width, height: Math.min(height, DOC_MAX_HEIGHT) },
    });
  }
  return path;
}

// Runs axe-core on the page; returns the violations of impact serious or
// critical (the bar), each as "id: help (n nodes)".
export async function axeSerious(page) {
  const src = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: src });
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    return await axe.run(document, { resultTypes: ['violations'] });
  });
  return res.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.length} nodes)`);
}
