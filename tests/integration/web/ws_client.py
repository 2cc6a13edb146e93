#!/usr/bin/python3
"""ws_client.py -- a wishd client over WebSocket made of Python's
`websockets` (Debian python3-websockets) and `msgpack`, for
tests/integration/test_web.c. Nothing of microwish is imported: it speaks
docs/protocol.md ("WebSocket") as any outside client would.

    ws_client.py hello     URL TOKEN        hello, ping; exit 0
    ws_client.py volunteer URL TOKEN        the volunteer story (below)
    ws_client.py watch     URL TOKEN REGION queue.watch, one queue event

Options: --cafile PEM (wss: trust that certificate, host name
"localhost"), --origin ORIGIN (sent as the Origin header).

Each step prints one line the C test waits for; a failed step prints
"FAIL: why" on stderr and exits 1. The whole run ends within --deadline
seconds (default 20): SIGALRM ends it otherwise.
"""
import argparse
import asyncio
import signal
import ssl
import sys

import msgpack
import websockets

IO_S = 5.0  # deadline of one reply or one awaited event


def say(*words):
    print(*words, flush=True)


def fail(why):
    print("FAIL: " + why, file=sys.stderr, flush=True)
    sys.exit(1)


class Rpc:
    """One WebSocket session: each binary message is one MessagePack-RPC
    message. Events read while waiting for a reply are kept in order."""

    def __init__(self, ws):
        self.ws = ws
        self.msgid = 0
        self.events = []

    async def recv(self, timeout=IO_S):
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        if not isinstance(data, bytes):
            fail("a text message from wishd: %r" % (data,))
        up = msgpack.Unpacker(raw=False)
        up.feed(data)
        msgs = list(up)
        if len(msgs) != 1:
            fail("a WebSocket message held %d MessagePack objects" % len(msgs))
        return msgs[0]

    async def call(self, method, params=None):
        self.msgid += 1
        mid = self.msgid
        await self.ws.send(
            msgpack.packb([0, mid, method, [] if params is None else [params]]))
        while True:
            m = await self.recv()
            if m[0] == 1 and m[1] == mid:
                return m[2], m[3]
            if m[0] == 2 and m[1] == "event":
                self.events.append(m[2][0])
            elif m[0] == 2:
                fail("notification %r" % (m,))

    async def ok(self, method, params=None):
        err, res = await self.call(method, params)
        if err is not None:
            fail("%s refused: %r" % (method, err))
        return res

    async def event(self, pred, timeout=IO_S):
        """The first kept or arriving event for which pred is true; the
        events before it stay kept. None when none came in time."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        seen = 0
        while True:
            for i in range(seen, len(self.events)):
                if pred(self.events[i]):
                    return self.events.pop(i)
            seen = len(self.events)
            left = end - loop.time()
            if left <= 0:
                return None
            try:
                m = await self.recv(left)
            except asyncio.TimeoutError:
                return None
            if m[0] == 2 and m[1] == "event":
                self.events.append(m[2][0])
            else:
                fail("unexpected message %r" % (m,))


def connect(args):
    kw = {"max_size": 1 << 20, "open_timeout": IO_S, "close_timeout": 2}
    if args.cafile:
        ctx = ssl.create_default_context(cafile=args.cafile)
        kw["ssl"] = ctx
        kw["server_hostname"] = "localhost"
    if args.origin:
        kw["origin"] = args.origin
    return websockets.connect(args.url, **kw)


async def hello(args):
    async with connect(args) as ws:
        rpc = Rpc(ws)
        res = await rpc.ok("hello", {"token": args.token})
        say("hello:", res["user"], res["role"], res["region"])
        say("ping:", await rpc.ok("ping"))


async def volunteer(args):
    """Errors as on TCP, an offer pushed live, acks nothing at first;
    then a second session resumes after the first offer and gets only
    the second, and acks it."""
    async with connect(args) as ws:
        rpc = Rpc(ws)
        err, _ = await rpc.call("me")
        say("before hello:", err[0], err[1])
        res = await rpc.ok("hello", {"token": args.token})
        say("hello:", res["user"], res["role"], res["region"],
            res["heartbeat_s"])
        say("ping:", await rpc.ok("ping"))
        err, _ = await rpc.call("no.such.method")
        say("no method:", err[0], err[1])
        err, _ = await rpc.call("task.get", {"task_id": 12})
        say("bad field:", err[0], err[1])
        me = await rpc.ok("me")
        say("me:", me["user"], me["available"])
        # Events replayed after hello (none: a fresh user) come first.
        stale = await rpc.event(lambda e: True, 0.3)
        if stale is not None:
            fail("an event before any task: %r" % (stale,))
        say("ready")
        first = await rpc.event(lambda e: e["type"] == "offer", 10)
        if first is None:
            fail("no offer came")
        say("offer:", first["id"], first["task"]["task_id"])
        second = await rpc.event(
            lambda e: e["type"] == "offer"
            and e["task"]["task_id"] != first["task"]["task_id"], 10)
        if second is None:
            fail("no second offer came")
        say("offer:", second["id"], second["task"]["task_id"])

    async with connect(args) as ws:
        rpc = Rpc(ws)
        await rpc.ok("hello", {"token": args.token, "resume": first["id"]})
        got = await rpc.event(lambda e: e["id"] == second["id"], IO_S)
        if got is None:
            fail("resume after %s did not replay %s" % (first["id"],
                                                        second["id"]))
        more = await rpc.event(lambda e: True, 0.4)
        if more is not None or rpc.events:
            fail("resume replayed more: %r" % ([more] + rpc.events,))
        say("resumed:", got["id"], got["type"], got["task"]["task_id"])
        say("ack:", await rpc.ok("ack", {"upto": second["id"]}))


async def watch(args):
    async with connect(args) as ws:
        rpc = Rpc(ws)
        await rpc.ok("hello", {"token": args.token})
        snap = await rpc.ok("queue.watch", {"region": args.region})
        say("watch:", snap["region"], len(snap["tasks"]), snap["upto"])
        say("ready")
        ev = await rpc.event(
            lambda e: e["type"] == "queue" and e["change"] == "created", 10)
        if ev is None:
            fail("no queue event came")
        if ev["id"] <= snap["upto"]:
            fail("queue event %s not after the snapshot's %s" %
                 (ev["id"], snap["upto"]))
        say("queue:", ev["change"], ev["task"]["task_id"],
            ev["task"]["status"])
        say("unwatch:", await rpc.ok("queue.unwatch"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["hello", "volunteer", "watch"])
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("region", nargs="?")
    ap.add_argument("--cafile")
    ap.add_argument("--origin")
    ap.add_argument("--deadline", type=int, default=20)
    args = ap.parse_args()
    signal.alarm(args.deadline)
    try:
        asyncio.run(globals()[args.scenario](args))
    except websockets.exceptions.ConnectionClosed as e:
        fail("connection closed: %s" % (e,))
    except (OSError, asyncio.TimeoutError,
            websockets.exceptions.InvalidHandshake) as e:
        fail("%s: %s" % (type(e).__name__, e))
    say("done")


if __name__ == "__main__":
    main()
