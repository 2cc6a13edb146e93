// wish.js -- the JavaScript twin of libwishclient's asynchronous client
// (clients/wishclient/wishclient.h, "Asynchronous client"): one session
// with wishd over WebSocket that outlives the connections under it.
// The wire contract is docs/protocol.md; docs/apps.md has this API.
//
//   const c = connect('ws://127.0.0.1:7480/ws');   // starts connecting
//   c.on('event', async (ev) => { ... });           // then acked
//   const who = await c.hello(token, { resume });   // {user, role, ...}
//   const me = await c.call('me', {}, { timeoutMs: 5000 });
//   await c.close();
//
// What it does, as libwishclient does:
//   calls      call() returns a Promise, settled exactly once: the result,
//              or a WishError whose `code` is the server's error name
//              (BAD_REQUEST, UNAUTHENTICATED, ...) or a local one: TIMEOUT
//              (no answer, or no session to send it on, within timeoutMs),
//              DISCONNECTED (the connection broke after the request went
//              out: it may or may not have been done), CLOSED (close()),
//              PROTOCOL. Calls made while there is no session wait and go
//              out after the next hello (or at once on a connection with
//              no token: auth.login and friends). Many may be in flight.
//   events     each [2, "event", [{id, type, ...}]] goes to the 'event'
//              listeners, one event at a time, in order; when they have
//              all returned (or their promises settled) the event is
//              handled: its id becomes the resume point (lastEventId) and
//              the client sends ack {upto}, one ack in flight at most.
//              An event whose id is not above the last one seen is
//              dropped. `queue` events are passed on but neither resume
//              points nor acked.
//   reconnect  a connection that breaks (close, error, a ping unanswered
//              within callTimeoutMs, no hello answer within
//              connectTimeoutMs) is made again after a backoff doubling
//              from backoffMinMs to backoffMaxMs, jittered, with hello
//              {token, resume: lastEventId}; a queue.watch made with
//              watch() is made again and its snapshot given to the
//              'watch' listeners.
//   heartbeat  while the session is up, a ping every heartbeat_s seconds
//              (hello's answer) or heartbeatMs of quiet.
// A hello the server refuses (other than UNAVAILABLE, RATE_LIMITED,
// INTERNAL, which are retried), or a session it ends with
// UNAUTHENTICATED (token expired, signed out), stops the client in state
// 'failed' until hello() gives it another token or forget() drops it.
//
// States ('state' listeners get (state, error|null)): 'connecting',
// 'ready', 'waiting' (lost; the next try after a backoff), 'failed',
// 'closed'.
//
// Runs in browsers (globalThis.WebSocket) and in Node with the `ws`
// package passed as opts.WebSocket. Never logs; a token is never put in
// an error or an event.
import { decode, encode } from '@msgpack/msgpack';

/** The server's error codes by number (docs/protocol.md, "Errors"). */
export const ERROR_NAMES = Object.freeze({
    1: 'BAD_REQUEST',
    2: 'UNAUTHENTICATED',
    3: 'FORBIDDEN',
    4: 'NOT_FOUND',
    5: 'CONFLICT',
    6: 'RATE_LIMITED',
    7: 'UNAVAILABLE',
    8: 'INTERNAL',
    9: 'NO_METHOD',
    10: 'TOO_LARGE',
});

/** Methods that work before hello (they take `city`). */
export const PRE_HELLO = Object.freeze(['ping', 'auth.login', 'auth.signup',
    'auth.reset', 'certificate.verify']);

const RETRIED_HELLO = new Set(['UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL']);

/** A refused or failed call: `code` is a name, `num` the server's number
 * (0 for local ones: TIMEOUT, DISCONNECTED, CLOSED, PROTOCOL). */
export class WishError extends Error {
    constructor(code, message, num = 0) {
        super(message);
        this.name = 'WishError';
        this.code = code;
        this.num = num;
    }

    /** From the wire's [code, message]. */
    static fromWire(err) {
        if (Array.isArray(err) && typeof err[0] === 'number')
            return new WishError(ERROR_NAMES[err[0]] || `E${err[0]}`,
                String(err[1] ?? ''), err[0]);
        return new WishError('PROTOCOL', 'an error that is not [code, message]');
    }
}

const DEFAULTS = {
    callTimeoutMs: 10000,
    connectTimeoutMs: 10000,
    backoffMinMs: 100,
    backoffMaxMs: 10000,
    heartbeatMs: 0, // 0: hello's heartbeat_s; < 0: no pings
    noAck: false,
};

export class WishClient {
    /**
     * @param {string} url  ws:// or wss:// URL of wishd's /ws
     * @param {object} [opts]  WebSocket (constructor; default the
     *   global one), token, resume (last event id handled in an earlier
     *   run), callTimeoutMs, connectTimeoutMs, backoffMinMs,
     *   backoffMaxMs, heartbeatMs, noAck, random (for tests: () => [0,1))
     */
    constructor(url, opts = {}) {
        this.url = url;
        this.opts = { ...DEFAULTS, ...opts };
        this.WS = opts.WebSocket || globalThis.WebSocket;
        if (!this.WS) throw new Error('no WebSocket: pass opts.WebSocket');
        this.random = opts.random || Math.random;
        this.token = opts.token || null;
        this.lastEventId = opts.resume || ''; // handled: the resume point
        this.helloResult = null;
        this.state = 'idle';
        this.error = null; // why the client is 'failed' or 'waiting'
        this._seen = this.lastEventId; // highest stored event id received
        this._listeners = new Map();
        this._ws = null;
        this._msgid = 0;
        this._inflight = new Map(); // msgid -> call
        this._queue = []; // calls waiting for a session
        this._attempt = 0;
        this._timers = new Set();
        this._chain = Promise.resolve(); // events, one at a time
        this._acked = this.lastEventId;
        this._acking = false;
        this._watch = null; // region of queue.watch, to renew
        this._helloWaiters = [];
        this._serverError = null;
        this._lastSend = 0;
    }

    // ------------------------------------------------------------ listeners

    /** Adds a listener; returns a function that removes it. Types:
     * 'event' (ev; may return a promise: the event is handled when it
     * settles), 'state' (state, error), 'watch' (a renewed queue.watch
     * snapshot), 'handled' (the new lastEventId: save it to resume in a
     * later run), 'error' (a listener threw, an ack failed). */
    on(type, fn) {
        if (!this._listeners.has(type)) this._listeners.set(type, new Set());
        this._listeners.get(type).add(fn);
        return () => this._listeners.get(type)?.delete(fn);
    }

    _emit(type, ...args) {
        const out = [];
        for (const fn of [...(this._listeners.get(type) || [])]) {
            try {
                out.push(fn(...args));
            } catch (e) {
                if (type !== 'error') this._emit('error', e);
            }
        }
        return out;
    }

    _setState(state, error = null) {
        if (this.state === state && this.error === error) return;
        this.state = state;
        this.error = error;
        this._emit('state', state, error);
    }

    // -------------------------------------------------------------- timers

    _after(ms, fn) {
        const t = setTimeout(() => {
            this._timers.delete(t);
            fn();
        }, ms);
        this._timers.add(t);
        return t;
    }

    _cancel(t) {
        if (t) {
            clearTimeout(t);
            this._timers.delete(t);
        }
    }

    // ------------------------------------------------------------ sessions

    /** Starts connecting (connect() does it for you). */
    open() {
        if (this.state === 'closed') throw new Error('client closed');
        if (this.state === 'idle' || this.state === 'failed') this._attemptNow();
        return this;
    }

    /**
     * Says hello with token (kept for every reconnect) and, when given,
     * resume (the last event id handled). On an open connection it is
     * sent at once (a fresh token, or another identity); calls made
     * meanwhile wait for it. Resolves with hello's result ({user, role,
     * region, server, heartbeat_s, tz_offset}); rejects with the
     * WishError that refused it.
     */
    hello(token, { resume } = {}) {
        if (this.state === 'closed')
            return Promise.reject(new WishError('CLOSED', 'client closed'));
        this.token = token;
        if (resume !== undefined && resume !== null) {
            this.lastEventId = resume;
            this._seen = resume;
            this._acked = resume;
        }
        const p = new Promise((resolve, reject) =>
            this._helloWaiters.push({ resolve, reject }));
        if (this._ws && this._ws.readyState === 1 && this._opened) {
            this._setState('connecting');
            this._sendHello();
        } else if (this.state === 'idle' || this.state === 'failed') {
            this._attemptNow();
        }
        return p;
    }

    /** Drops the token and the resume point (after a log-out or a
     * refused token): the next connection says no hello, so only
     * ping and the auth.* methods that work before it go. */
    forget() {
        const signedIn = this.helloResult !== null || this.token !== null;
        this.token = null;
        this.helloResult = null;
        this.lastEventId = this._seen = this._acked = '';
        this._watch = null;
        if (this.state === 'failed') this._attemptNow();
        else if (signedIn && this._ws) this._drop(null, true);
    }

    _attemptNow() {
        this._serverError = null;
        this._opened = false;
        this._setState('connecting');
        let ws;
        try {
            ws = new this.WS(this.url);
        } catch (e) {
            this._lost(new WishError('DISCONNECTED', `cannot connect: ${e.message}`));
            return;
        }
        this._ws = ws;
        ws.binaryType = 'arraybuffer';
        this._connectTimer = this._after(this.opts.connectTimeoutMs, () => {
            if (this._ws === ws)
                this._drop(new WishError('TIMEOUT', 'no session within '
                    + `${this.opts.connectTimeoutMs} ms`));
        });
        ws.onopen = () => {
            if (this._ws !== ws) return;
            this._opened = true;
            if (this.token) this._sendHello();
            else this._ready(null);
        };
        ws.onmessage = (m) => {
            if (this._ws === ws) this._receive(m.data);
        };
        ws.onerror = () => {}; // the close that follows says it
        ws.onclose = (e) => {
            if (this._ws === ws)
                this._drop(new WishError('DISCONNECTED', 'connection closed'
                    + (e && e.code ? ` (${e.code})` : '')));
        };
    }

    _sendHello() {
        const params = { token: this.token };
        if (this.lastEventId) params.resume = this.lastEventId;
        const ws = this._ws;
        this._send('hello', params, this.opts.connectTimeoutMs, true).then(
            (res) => {
                if (this._ws === ws) this._ready(res);
            },
            (err) => {
                if (this._ws !== ws) return;
                if (err.code === 'TIMEOUT' || err.code === 'DISCONNECTED'
                    || RETRIED_HELLO.has(err.code)) {
                    this._drop(err);
                } else {
                    this._fail(err);
                }
            });
    }

    _ready(hello) {
        this._cancel(this._connectTimer);
        this._attempt = 0;
        this.helloResult = hello;
        this._setState('ready');
        for (const w of this._helloWaiters.splice(0)) w.resolve(hello);
        this._startHeartbeat();
        for (const c of this._queue.splice(0)) this._transmit(c);
        if (hello && this._watch) {
            const region = this._watch;
            this._send('queue.watch', { region }, this.opts.callTimeoutMs, true)
                .then((snap) => this._emit('watch', snap),
                    (e) => this._emit('error', e));
        }
        if (hello) this._maybeAck();
    }

    // The hello was refused for good: no reconnect until a new token.
    _fail(err) {
        this._teardownSocket();
        for (const c of [...this._inflight.values()]) this._settle(c, err);
        this._setState('failed', err);
        for (const w of this._helloWaiters.splice(0)) w.reject(err);
        for (const c of this._queue.splice(0)) this._settle(c, err);
    }

    // The connection is gone (or given up on): in-flight calls fail with
    // DISCONNECTED, queued ones wait; reconnect after a backoff unless
    // closed, failed, or told to by the server's UNAUTHENTICATED.
    _drop(err, now = false) {
        this._teardownSocket();
        const dis = new WishError('DISCONNECTED', err ? err.message
            : 'connection closed');
        for (const c of [...this._inflight.values()]) this._settle(c, dis);
        this._inflight.clear();
        if (this.state === 'closed' || this.state === 'failed') return;
        const said = this._serverError;
        if (said && said.code === 'UNAUTHENTICATED' && this.token) {
            this._fail(said);
            return;
        }
        this._lost(said || err, now);
    }

    _lost(err, now = false) {
        const min = this.opts.backoffMinMs;
        const max = this.opts.backoffMaxMs;
        const base = Math.min(max, min * 2 ** Math.min(this._attempt, 30));
        const delay = now ? 0 : Math.round(base / 2 + this.random() * base / 2);
        this._attempt++;
        this._setState('waiting', err || null);
        this._retryTimer = this._after(delay, () => {
            if (this.state === 'waiting') this._attemptNow();
        });
    }

    _teardownSocket() {
        this._cancel(this._connectTimer);
        this._cancel(this._heartbeat);
        const ws = this._ws;
        this._ws = null;
        this._opened = false;
        this._acking = false;
        if (ws) {
            ws.onopen = ws.onmessage = ws.onclose = null;
            ws.onerror = () => {};
            try {
                if (typeof ws.terminate === 'function') ws.terminate();
                else ws.close();
            } catch { /* already gone */ }
        }
    }

    _startHeartbeat() {
        this._cancel(this._heartbeat);
        const hb = this.opts.heartbeatMs;
        const every = hb > 0 ? hb
            : hb < 0 ? 0 : ((this.helloResult?.heartbeat_s || 30) * 1000);
        if (!every) return;
        const ws = this._ws;
        const tick = () => {
            if (this._ws !== ws) return;
            if (Date.now() - this._lastSend >= every * 0.9) {
                this._send('ping', undefined, this.opts.callTimeoutMs, true)
                    .catch((e) => {
                        if (this._ws === ws && e.code === 'TIMEOUT')
                            this._drop(new WishError('TIMEOUT',
                                'ping unanswered'));
                    });
            }
            this._heartbeat = this._after(every, tick);
        };
        this._heartbeat = this._after(every, tick);
    }

    // ---------------------------------------------------------------- calls

    /**
     * Calls method with params (a map, or nothing). Resolves with the
     * result; rejects with a WishError. timeoutMs (default callTimeoutMs)
     * counts from now, waiting for a session included.
     */
    call(method, params, { timeoutMs } = {}) {
        return this._send(method, params, timeoutMs ?? this.opts.callTimeoutMs,
            false);
    }

    // A call; `now` sends on the current socket whatever the state
    // (hello, the watch renewal, acks, pings), else it waits for 'ready'.
    _send(method, params, timeoutMs, now) {
        if (this.state === 'closed')
            return Promise.reject(new WishError('CLOSED', 'client closed'));
        if (this.state === 'failed' && !now)
            return Promise.reject(this.error);
        return new Promise((resolve, reject) => {
            const c = { method, params, resolve, reject, id: 0, timer: null };
            if (timeoutMs > 0) {
                c.timer = this._after(timeoutMs, () => {
                    this._settle(c, new WishError('TIMEOUT',
                        `no answer to ${method} within ${timeoutMs} ms`));
                });
            }
            if (now || this.state === 'ready') this._transmit(c);
            else this._queue.push(c);
        });
    }

    _transmit(c) {
        const ws = this._ws;
        if (!ws || ws.readyState !== 1) {
            this._settle(c, new WishError('DISCONNECTED', 'not connected'));
            return;
        }
        this._msgid = (this._msgid + 1) >>> 0 || 1;
        c.id = this._msgid;
        const body = c.params === undefined || c.params === null ? []
            : [c.params];
        let bytes;
        try {
            bytes = encode([0, c.id, c.method, body], { ignoreUndefined: true });
        } catch (e) {
            this._settle(c, new WishError('BAD_REQUEST', `cannot encode: ${e.message}`));
            return;
        }
        this._inflight.set(c.id, c);
        this._lastSend = Date.now();
        ws.send(bytes);
    }

    // Settles a call once, wherever it waits.
    _settle(c, err, result) {
        if (c.done) return;
        c.done = true;
        this._cancel(c.timer);
        if (c.id) this._inflight.delete(c.id);
        const i = this._queue.indexOf(c);
        if (i >= 0) this._queue.splice(i, 1);
        if (err) c.reject(err);
        else c.resolve(result);
    }

    // ------------------------------------------------------------- receive

    _receive(data) {
        let m;
        try {
            if (typeof data === 'string') throw new Error('a text message');
            m = decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
            if (!Array.isArray(m)) throw new Error('not an array');
        } catch (e) {
            this._drop(new WishError('PROTOCOL', `bad message: ${e.message}`));
            return;
        }
        if (m[0] === 1) {
            const c = this._inflight.get(m[1]);
            if (!c) return;
            if (m[2] !== null && m[2] !== undefined)
                this._settle(c, WishError.fromWire(m[2]));
            else this._settle(c, null, m[3]);
        } else if (m[0] === 2 && m[1] === 'event' && Array.isArray(m[2])) {
            const ev = m[2][0];
            if (ev && typeof ev === 'object') this._event(ev);
        } else if (m[0] === 2 && m[1] === 'error' && Array.isArray(m[2])) {
            this._serverError = WishError.fromWire(m[2][0]);
        }
    }

    _event(ev) {
        const stored = ev.type !== 'queue' && typeof ev.id === 'string';
        if (stored) {
            if (this._seen && ev.id <= this._seen) return; // had it
            this._seen = ev.id;
        }
        this._chain = this._chain.then(async () => {
            const outs = this._emit('event', ev);
            for (const o of outs) {
                if (o && typeof o.then === 'function') {
                    try {
                        await o;
                    } catch (e) {
                        this._emit('error', e);
                    }
                }
            }
            if (stored && ev.id > this.lastEventId) {
                this.lastEventId = ev.id;
                this._emit('handled', ev.id);
                this._maybeAck();
            }
        });
    }

    // ack {upto: lastEventId}, one in flight at a time.
    _maybeAck() {
        if (this.opts.noAck || this._acking || this.state !== 'ready'
            || !this.helloResult || !this.lastEventId
            || this.lastEventId <= this._acked)
            return;
        const upto = this.lastEventId;
        const ws = this._ws;
        this._acking = true;
        this._send('ack', { upto }, this.opts.callTimeoutMs, true).then(
            () => {
                if (upto > this._acked) this._acked = upto;
            },
            (e) => this._emit('error', e)).finally(() => {
            if (this._ws !== ws) return;
            this._acking = false;
            this._maybeAck();
        });
    }

    // ------------------------------------------------------- the live queue

    /** queue.watch {region}; renewed after every reconnect (its fresh
     * snapshot goes to the 'watch' listeners). Resolves with the
     * snapshot. */
    async watch(region) {
        const snap = await this.call('queue.watch', { region });
        this._watch = region;
        return snap;
    }

    /** queue.unwatch; no more renewals. */
    async unwatch() {
        this._watch = null;
        return this.call('queue.unwatch');
    }

    // --------------------------------------------------------------- close

    /** Closes cleanly: calls in flight get up to waitMs for their
     * answers, then everything left fails with CLOSED. */
    async close({ waitMs = 2000 } = {}) {
        if (this.state === 'closed') return;
        const ws = this._ws;
        const pending = [...this._inflight.values()].map((c) =>
            new Promise((r) => {
                const { resolve, reject } = c;
                c.resolve = (v) => { r(); resolve(v); };
                c.reject = (e) => { r(); reject(e); };
            }));
        if (pending.length && ws && ws.readyState === 1) {
            let t;
            await Promise.race([Promise.all(pending),
                new Promise((r) => { t = setTimeout(r, waitMs); })]);
            clearTimeout(t);
        }
        this._setState('closed');
        const err = new WishError('CLOSED', 'client closed');
        for (const c of [...this._inflight.values(), ...this._queue]) this._settle(c, err);
        for (const w of this._helloWaiters.splice(0)) w.reject(err);
        for (const t of this._timers) clearTimeout(t);
        this._timers.clear();
        this._ws = null;
        if (ws) {
            ws.onopen = ws.onmessage = null;
            ws.onerror = () => {};
            if (ws.readyState === 0 || ws.readyState === 1) {
                await new Promise((resolve) => {
                    const t = setTimeout(() => {
                        try {
                            if (typeof ws.terminate === 'function') ws.terminate();
                        } catch { /* gone */ }
                        resolve();
                    }, waitMs);
                    ws.onclose = () => {
                        clearTimeout(t);
                        resolve();
                    };
                    try {
                        ws.close(1000);
                    } catch {
                        clearTimeout(t);
                        resolve();
                    }
                });
            }
        }
    }
}

/** Creates a client and starts connecting. */
export function connect(url, opts = {}) {
    return new WishClient(url, opts).open();
}

/** The /ws URL of the page's own origin (ws: or wss:). */
export function pageSocketUrl(loc = globalThis.location) {
    return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}
