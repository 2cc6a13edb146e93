// client.test.mjs -- the web apps' client module (clients/web/src/client/
// wish.js) against a real wishd, in Node with the `ws` package injected.
// tests/integration/test_web_client.c starts Redis and wishd (with an
// HTTP port) and runs this file with:
//
//   WISH_WS_URL    ws://127.0.0.1:P/ws
//   WISH_RESIDENT  a resident's token (a community of jinan/lixia)
//   WISH_COORD     a coordinator's token over jinan/lixia
//   WISH_REGION    the coordinator's scope (jinan/lixia)
//   WISH_RESTART   "1": the harness restarts wishd on the line
//                  "restart wishd" (the last test waits for it)
//
// Without WISH_WS_URL every test is skipped. A network drop is made by a
// TCP proxy in this process between the client and wishd, which can cut
// every connection, refuse new ones or swallow bytes; the real restart
// of wishd is the harness's. Every wait is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(
    new URL('../../clients/web/package.json', import.meta.url));
const WebSocket = require('ws');
const { connect, WishClient, WishError } = await import(
    '../../clients/web/src/client/wish.js');

const URL_WS = process.env.WISH_WS_URL;
const RESIDENT = process.env.WISH_RESIDENT;
const COORD = process.env.WISH_COORD;
const REGION = process.env.WISH_REGION || 'jinan/lixia';
const skip = URL_WS ? false : 'WISH_WS_URL not set (run by test_web_client)';
const T = { timeout: 30000, skip };

// Client options for tests: quick backoff, the ws package.
const OPTS = { WebSocket, backoffMinMs: 50, backoffMaxMs: 400,
    callTimeoutMs: 3000, connectTimeoutMs: 3000 };

/** Resolves when pred() holds, polling; rejects after ms. */
async function until(pred, ms, what) {
    const end = Date.now() + ms;
    while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

/** An event list filled by a client's 'event' listener. */
function collect(c) {
    const got = [];
    c.on('event', (ev) => { got.push(ev); });
    return got;
}

/** A wish of the resident an hour from now (an open task). */
async function submitWish(c, title) {
    const now = Math.floor(Date.now() / 1000);
    const r = await c.call('wish.submit', { title, skill: 'shopping',
        lon: 117.061237, lat: 36.671913, start: now + 3600, end: now + 7200 });
    assert.match(r.task_id, /^T\d+$/);
    return r.task_id;
}

// A TCP proxy to wishd's HTTP port: 'up' forwards, 'down' refuses (new
// connections are closed at once), 'mute' keeps connections but drops
// every byte. cut() ends every connection it carries.
class Proxy {
    constructor(target) {
        const u = new URL(target.replace(/^ws/, 'http'));
        this.host = u.hostname;
        this.port = Number(u.port);
        this.mode = 'up';
        this.socks = new Set();
    }

    async start() {
        this.server = net.createServer((down) => {
            if (this.mode === 'down') return down.destroy();
            const up = net.connect(this.port, this.host);
            const pair = [down, up];
            for (const s of pair) {
                this.socks.add(s);
                s.on('close', () => { this.socks.delete(s); pair.forEach((x) => x.destroy()); });
                s.on('error', () => {});
            }
            down.on('data', (b) => { if (this.mode === 'up') up.write(b); });
            up.on('data', (b) => { if (this.mode === 'up') down.write(b); });
        });
        await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
        this.url = `ws://127.0.0.1:${this.server.address().port}/ws`;
        return this;
    }

    cut() {
        for (const s of this.socks) s.destroy();
    }

    async stop() {
        this.cut();
        await new Promise((r) => this.server.close(r));
    }
}

test('connect, hello, calls (pipelined), errors as WishError', T, async () => {
    const c = connect(URL_WS, OPTS);
    const states = [];
    c.on('state', (s) => states.push(s));
    const hello = await c.hello(RESIDENT);
    assert.equal(hello.role, 'resident');
    assert.equal(typeof hello.tz_offset, 'number');
    assert.equal(c.state, 'ready');
    assert.deepEqual(states.slice(-1), ['ready']);
    const me = await c.call('me');
    assert.equal(me.user, hello.user);
    // Pipelined: many calls in flight at once, matched by msgid.
    const many = await Promise.all(Array.from({ length: 20 },
        (_, i) => (i % 2 ? c.call('ping') : c.call('me'))));
    many.forEach((r, i) => assert.deepEqual(i % 2 ? r : r.user,
        i % 2 ? 'pong' : hello.user));
    await assert.rejects(c.call('no.such.method'), (e) =>
        e instanceof WishError && e.code === 'NO_METHOD' && e.num === 9
        && /no such method/.test(e.message));
    await assert.rejects(c.call('task.get', { task_id: 7 }), (e) =>
        e.code === 'BAD_REQUEST' && /task_id/.test(e.message));
    await c.close();
    assert.equal(c.state, 'closed');
    await assert.rejects(c.call('ping'), (e) => e.code === 'CLOSED');
});

test('no hello: the calls that work before it; a bad token fails', T, async () => {
    const c = connect(URL_WS, OPTS);
    assert.equal(await c.call('ping'), 'pong');
    await assert.rejects(c.call('auth.login', { city: 'jinan',
        user: 'nobody-here', password: 'not-the-password' }),
    (e) => e.code === 'UNAUTHENTICATED');
    await assert.rejects(c.call('me'), (e) => e.code === 'UNAUTHENTICATED');
    assert.equal(c.state, 'ready');
    // A refused hello: 'failed', no reconnect, waiting calls fail with it.
    const waiting = c.call('me').catch((e) => e); // sent before the hello
    await assert.rejects(c.hello('mw1.bad.token'), (e) =>
        e.code === 'UNAUTHENTICATED');
    assert.equal(c.state, 'failed');
    assert.equal(c.error.code, 'UNAUTHENTICATED');
    assert.equal((await waiting).code, 'UNAUTHENTICATED');
    await assert.rejects(c.call('me'), (e) => e.code === 'UNAUTHENTICATED');
    // A good token brings it back.
    const hello = await c.hello(RESIDENT);
    assert.equal(hello.role, 'resident');
    await c.close();
});

test('timeouts: no session, and no answer', T, async () => {
    // Nothing listens: the client keeps trying; a call waits its time.
    const dead = net.createServer();
    await new Promise((r) => dead.listen(0, '127.0.0.1', r));
    const port = dead.address().port;
    await new Promise((r) => dead.close(r));
    const c = connect(`ws://127.0.0.1:${port}/ws`, OPTS);
    const t0 = Date.now();
    await assert.rejects(c.call('ping', undefined, { timeoutMs: 300 }),
        (e) => e.code === 'TIMEOUT');
    assert.ok(Date.now() - t0 >= 280);
    assert.ok(['waiting', 'connecting'].includes(c.state));
    await c.close();

    // Connected, but the answer never comes (the proxy swallows it).
    const p = await new Proxy(URL_WS).start();
    const d = connect(p.url, { ...OPTS, heartbeatMs: -1 });
    await d.hello(RESIDENT);
    p.mode = 'mute';
    await assert.rejects(d.call('me', undefined, { timeoutMs: 300 }),
        (e) => e.code === 'TIMEOUT' && /within 300 ms/.test(e.message));
    await d.close({ waitMs: 200 });
    await p.stop();
});

test('an event: handled, then acked', T, async () => {
    const res = connect(URL_WS, OPTS);
    const co = connect(URL_WS, OPTS);
    await Promise.all([res.hello(RESIDENT), co.hello(COORD)]);
    const got = collect(res);
    let handledAt = 0;
    res.on('event', async (ev) => {
        if (ev.type === 'task_cancelled') {
            await new Promise((r) => setTimeout(r, 100)); // async handler
            handledAt = Date.now();
        }
    });
    const id = await submitWish(res, 'Buy rice');
    await co.call('task.cancel', { task_id: id, reason: 'test' });
    await until(() => got.some((e) => e.type === 'task_cancelled'
        && e.task_id === id), 5000, 'task_cancelled');
    const ev = got.find((e) => e.task_id === id);
    assert.match(ev.id, /^\d{16}$/);
    await until(() => res.lastEventId === ev.id, 3000, 'handled');
    assert.ok(handledAt > 0, 'the handler ran before the event was handled');
    await until(() => res._acked === ev.id, 3000, 'the ack');
    await res.close();
    // Acked: a new session without resume replays nothing of it.
    const again = connect(URL_WS, OPTS);
    const replay = collect(again);
    await again.hello(RESIDENT);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(replay.filter((e) => e.id <= ev.id).length, 0);
    await again.close();
    await co.close();
});

test('a network drop: reconnect, resume, nothing lost or doubled', T, async () => {
    const p = await new Proxy(URL_WS).start();
    const res = connect(p.url, OPTS);
    const co = connect(URL_WS, OPTS);
    await Promise.all([res.hello(RESIDENT), co.hello(COORD)]);
    const got = collect(res);
    const states = [];
    res.on('state', (s) => states.push(s));
    const before = await submitWish(res, 'Before the drop');
    await co.call('task.cancel', { task_id: before });
    await until(() => got.some((e) => e.task_id === before), 5000, 'first event');
    const first = got.find((e) => e.task_id === before);
    await until(() => res._acked === first.id, 3000, 'first ack');
    const sessions = states.length;

    // The network goes: connections cut, new ones refused.
    p.mode = 'down';
    p.cut();
    await until(() => res.state === 'waiting', 3000, 'waiting');
    // Something happens while it is away: a wish of the resident made on
    // another connection, cancelled by the centre.
    const other = connect(URL_WS, { ...OPTS, noAck: true });
    await other.hello(RESIDENT, { resume: first.id });
    const away = await submitWish(other, 'While away');
    await co.call('task.cancel', { task_id: away, reason: 'away' });
    // A call made while down waits for the next session.
    const queued = res.call('me', undefined, { timeoutMs: 8000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(res.state === 'ready', false);

    p.mode = 'up';
    assert.equal((await queued).role, 'resident');
    await until(() => got.some((e) => e.task_id === away), 5000,
        'the event made while away');
    const missed = got.filter((e) => e.task_id === away);
    assert.equal(missed.length, 1);
    assert.ok(missed[0].id > first.id);
    assert.equal(got.filter((e) => e.id === first.id).length, 1);
    assert.ok(states.slice(sessions).includes('waiting'));
    assert.equal(res.state, 'ready');
    await until(() => res._acked === missed[0].id, 3000, 'ack after resume');
    await Promise.all([res.close(), co.close(), other.close()]);
    await p.stop();
});

test('a dead connection: the heartbeat finds it, the client reconnects', T, async () => {
    const p = await new Proxy(URL_WS).start();
    const c = connect(p.url, { ...OPTS, heartbeatMs: 200, callTimeoutMs: 500 });
    await c.hello(RESIDENT);
    const states = [];
    c.on('state', (s) => states.push(s));
    p.mode = 'mute'; // the socket stays open, nothing gets through
    await until(() => states.includes('waiting'), 3000, 'the lost ping');
    p.mode = 'up';
    await until(() => c.state === 'ready', 5000, 'back');
    assert.equal(await c.call('ping'), 'pong');
    await c.close();
    await p.stop();
});

test('wishd restarted: the client comes back, its watch renewed', {
    ...T, skip: skip || (process.env.WISH_RESTART === '1' ? false
        : 'WISH_RESTART not set'),
}, async () => {
    const co = connect(URL_WS, { ...OPTS, backoffMaxMs: 300 });
    await co.hello(COORD);
    const snap = await co.watch(REGION);
    assert.equal(snap.region, REGION);
    const renewed = [];
    co.on('watch', (s) => renewed.push(s));
    const states = [];
    co.on('state', (s) => states.push(s));
    process.stdout.write('\nrestart wishd\n');
    await until(() => states.includes('waiting'), 10000, 'the drop');
    await until(() => co.state === 'ready', 15000, 'wishd back');
    await until(() => renewed.length === 1, 5000, 'the renewed watch');
    assert.equal(renewed[0].region, REGION);
    assert.equal(await co.call('ping'), 'pong');
    await co.close();
});

test('the module: WishClient needs a WebSocket', { skip: false }, () => {
    const saved = globalThis.WebSocket;
    try {
        globalThis.WebSocket = undefined;
        assert.throws(() => new WishClient('ws://x/ws'), /no WebSocket/);
    } finally {
        globalThis.WebSocket = saved;
    }
    assert.equal(WishError.fromWire([6, 'slow down']).code, 'RATE_LIMITED');
    assert.equal(WishError.fromWire('junk').code, 'PROTOCOL');
});
