// ws_client.mjs -- a wishd client over WebSocket made of Node's `ws` and
// `@msgpack/msgpack`, both pinned in clients/web/package.json and
// installed there by `npm ci` (make web-deps), for
// tests/integration/test_web.c. Nothing of microwish is used: it speaks
// docs/protocol.md ("WebSocket") as any outside client would.
//
//   node ws_client.mjs URL TOKEN
//
// The volunteer story: hello, calls (ping, me, an unknown method), an
// offer pushed live (the C test posts the tasks once "ready" is
// printed), then a second session that resumes after the first offer
// and gets the second one only, and acks it. One line per step; "FAIL:
// why" on stderr and exit 1 when a step fails; the whole run is bounded.
import { createRequire } from 'node:module';

const require = createRequire(
    new URL('../../../clients/web/package.json', import.meta.url));
const WebSocket = require('ws');
const { encode, decode } = require('@msgpack/msgpack');

const IO_MS = 5000;
const [url, token] = process.argv.slice(2);

function fail(why) {
    process.stderr.write(`FAIL: ${why}\n`);
    process.exit(1);
}

setTimeout(() => fail('deadline passed'), 20000).unref();

// One session: each binary message is one MessagePack-RPC message.
// Replies resolve their call by msgid; events queue up in order.
class Rpc {
    static open(u) {
        return new Promise((resolve, reject) => {
            const ws = new WebSocket(u, { handshakeTimeout: IO_MS });
            ws.binaryType = 'nodebuffer';
            ws.once('open', () => resolve(new Rpc(ws)));
            ws.once('error', reject);
        });
    }

    constructor(ws) {
        this.ws = ws;
        this.msgid = 0;
        this.pending = new Map();
        this.events = [];
        this.waiter = null;
        ws.on('message', (data, isBinary) => {
            if (!isBinary) fail('a text message from wishd');
            const m = decode(data); // throws on a second object: good
            if (m[0] === 1) {
                const p = this.pending.get(m[1]);
                if (!p) fail(`a reply to no call: ${m[1]}`);
                this.pending.delete(m[1]);
                p([m[2], m[3]]);
            } else if (m[0] === 2 && m[1] === 'event') {
                this.events.push(m[2][0]);
                if (this.waiter) this.waiter();
            } else {
                fail(`unexpected message ${JSON.stringify(m)}`);
            }
        });
        ws.on('close', (code) => { this.closed = code; });
    }

    call(method, params) {
        const id = ++this.msgid;
        this.ws.send(encode([0, id, method, params === undefined ? [] : [params]]));
        return new Promise((resolve) => {
            const t = setTimeout(() => fail(`no reply to ${method}`), IO_MS);
            this.pending.set(id, (r) => { clearTimeout(t); resolve(r); });
        });
    }

    async ok(method, params) {
        const [err, res] = await this.call(method, params);
        if (err !== null) fail(`${method} refused: ${JSON.stringify(err)}`);
        return res;
    }

    // The first queued or arriving event for which pred holds (taken out
    // of the queue), or null after ms.
    async event(pred, ms) {
        const end = Date.now() + ms;
        for (;;) {
            const i = this.events.findIndex(pred);
            if (i >= 0) return this.events.splice(i, 1)[0];
            const left = end - Date.now();
            if (left <= 0) return null;
            await new Promise((resolve) => {
                const t = setTimeout(resolve, left);
                this.waiter = () => { clearTimeout(t); resolve(); };
            });
            this.waiter = null;
        }
    }

    close() {
        return new Promise((resolve) => {
            if (this.closed !== undefined) return resolve();
            this.ws.once('close', resolve);
            this.ws.close(1000);
        });
    }
}

async function main() {
    let rpc = await Rpc.open(url);
    const hello = await rpc.ok('hello', { token });
    console.log(`hello: ${hello.user} ${hello.role} ${hello.region}`);
    console.log(`ping: ${await rpc.ok('ping')}`);
    const me = await rpc.ok('me');
    console.log(`me: ${me.user} ${me.available}`);
    const [err] = await rpc.call('no.such.method');
    console.log(`no method: ${err[0]} ${err[1]}`);
    console.log('ready');
    const first = await rpc.event((e) => e.type === 'offer', 10000);
    if (!first) fail('no offer came');
    console.log(`offer: ${first.id} ${first.task.task_id}`);
    const second = await rpc.event(
        (e) => e.type === 'offer' && e.task.task_id !== first.task.task_id,
        10000);
    if (!second) fail('no second offer came');
    console.log(`offer: ${second.id} ${second.task.task_id}`);
    await rpc.close();

    rpc = await Rpc.open(url);
    await rpc.ok('hello', { token, resume: first.id });
    const got = await rpc.event((e) => e.id === second.id, IO_MS);
    if (!got) fail(`resume after ${first.id} did not replay ${second.id}`);
    const more = await rpc.event(() => true, 400);
    if (more || rpc.events.length)
        fail(`resume replayed more: ${JSON.stringify(more)}`);
    console.log(`resumed: ${got.id} ${got.type} ${got.task.task_id}`);
    console.log(`ack: ${await rpc.ok('ack', { upto: second.id })}`);
    await rpc.close();
    console.log('done');
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
