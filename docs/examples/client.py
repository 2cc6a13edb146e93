#!/usr/bin/python3
"""client.py -- a microwish client in Python, with only python3-msgpack.

Connects to wishd, says hello with a resident's token, submits a
micro-wish, waits for news of that wish (say, "assigned" once a
volunteer takes it), acks it, and prints each step, with the ids to use
next: the task's for wishctl, the event's for --resume. Events stored
from before (hello replays them) are shown as "earlier" on the way:

    client.py --port 7400 --token "$(wishctl token ... --role resident ...)"
    WISH_TOKEN=... client.py --title "fix a tap" --wait 120

Exit status: 0 done; 1 a request was refused or no event came in time;
2 bad usage; 69 wishd could not be reached or hung up. The protocol is
explained in docs/clients.md.
"""

import argparse
import os
import socket
import sys
import time

import msgpack

REQUEST, RESPONSE, NOTIFY = 0, 1, 2
CODES = {1: "BAD_REQUEST", 2: "UNAUTHENTICATED", 3: "FORBIDDEN",
         4: "NOT_FOUND", 5: "CONFLICT", 6: "RATE_LIMITED", 7: "UNAVAILABLE",
         8: "INTERNAL", 9: "NO_METHOD", 10: "TOO_LARGE"}


class RpcError(Exception):
    """An error wishd answered with: [code, message]."""

    def __init__(self, code, message):
        super().__init__(f"{CODES.get(code, code)}: {message}")
        self.code = code


class Client:
    """One connection. call() blocks until its response; events that
    arrive meanwhile are kept for next_event()."""

    def __init__(self, host, port, timeout=10.0):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.unpacker = msgpack.Unpacker(raw=False)
        self.msgid = 0
        self.events = []

    def call(self, method, **params):
        self.msgid = (self.msgid + 1) % 2**32
        self.sock.sendall(msgpack.packb([REQUEST, self.msgid, method,
                                         [params]]))
        while True:
            msg = self._receive()
            if msg[0] == RESPONSE and msg[1] == self.msgid:
                if msg[2] is not None:
                    raise RpcError(*msg[2])
                return msg[3]

    def next_event(self, seconds):
        """The oldest event not yet returned, waiting up to seconds; None
        when none came."""
        deadline = time.monotonic() + seconds
        try:
            while not self.events:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
                self._receive()
        except TimeoutError:
            return None
        finally:
            self.sock.settimeout(self.timeout)
        return self.events.pop(0)

    def _receive(self):
        """The next message. Events are also kept; an error notice (wishd
        hangs up after it) is raised."""
        while True:
            for msg in self.unpacker:
                if msg[0] == NOTIFY and msg[1] == "event":
                    self.events.append(msg[2][0])
                elif msg[0] == NOTIFY and msg[1] == "error":
                    raise RpcError(*msg[2][0])
                return msg
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("wishd closed the connection")
            self.unpacker.feed(data)


def task_of(event):
    """The task an event is about ("" when none)."""
    return event.get("task_id") or event.get("task", {}).get("task_id", "")


def describe(event):
    """One line for an event: its type, task and, if any, volunteer."""
    text = f"{event['type']} {task_of(event)}"
    volunteer = event.get("volunteer")
    return f"{text} by {volunteer['name']}" if volunteer else text


def main():
    ap = argparse.ArgumentParser(description="Submit a wish, wait for news.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7400)
    ap.add_argument("--token", default=os.environ.get("WISH_TOKEN"),
                    help="a resident's token (default: $WISH_TOKEN)")
    ap.add_argument("--resume", help="last event id seen before")
    ap.add_argument("--title", default="carry the groceries upstairs")
    ap.add_argument("--skill", default="shopping")
    ap.add_argument("--lon", type=float, default=117.0612)
    ap.add_argument("--lat", type=float, default=36.6719)
    ap.add_argument("--wait", type=float, default=60,
                    help="seconds to wait for an event (default 60)")
    args = ap.parse_args()
    if not args.token:
        ap.error("no token: give --token or set WISH_TOKEN")

    try:
        client = Client(args.host, args.port)
        hello = {"token": args.token}
        if args.resume:
            hello["resume"] = args.resume  # replay only what came after
        me = client.call("hello", **hello)
        print(f"hello: {me['user']} ({me['role']}, {me['region']})"
              f" on {me['server']}", flush=True)

        now = int(time.time())
        wish = client.call("wish.submit", title=args.title, skill=args.skill,
                           lon=args.lon, lat=args.lat,
                           start=now + 3600, end=now + 7200)
        task = wish["task_id"]
        print(f"submitted: {task} ({wish['status']}); "
              f"see it with: wishctl task get {task}", flush=True)

        # Without --resume, hello replays every stored event, oldest
        # first: show those as earlier news (that handles them, so the
        # ack below may cover them) and wait for the news of this wish.
        deadline = time.monotonic() + args.wait
        while True:
            event = client.next_event(max(deadline - time.monotonic(), 0))
            if event is None:
                print(f"no news of {task} within {args.wait:g} s",
                      file=sys.stderr)
                return 1
            if task_of(event) == task:
                break
            print(f"earlier event {event['id']}: {describe(event)}",
                  flush=True)
        print(f"event {event['id']}: {describe(event)}", flush=True)
        client.call("ack", upto=event["id"])  # it may be trimmed now
        print(f"acked: {event['id']}; next time: --resume {event['id']}",
              flush=True)
    except RpcError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"wishd unavailable: {e}", file=sys.stderr)
        return 69
    return 0


if __name__ == "__main__":
    sys.exit(main())
