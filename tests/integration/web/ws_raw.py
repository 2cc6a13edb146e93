#!/usr/bin/python3
"""ws_raw.py -- hand-made HTTP requests and WebSocket frames against
wishd's HTTP port, for tests/integration/test_web_abuse.c: the bad input
no well-behaved client library would send (unmasked frames, unknown
opcodes, bad close reasons, half requests...). Plain sockets, struct and
msgpack only: this is a test client, not a WebSocket implementation.

    ws_raw.py CASE PORT [TOKEN] [options]

Prints what came back, one fact a line ("status 426", "header
sec-websocket-version: 13", "close 1003", "notify 1 <message>", "eof"),
then "done"; the C test compares the lines. Exits 1 with "FAIL: why" on
stderr when the case could not be run at all. Bounded: every read has a
deadline and SIGALRM ends the run after --deadline seconds.
"""
import argparse
import base64
import hashlib
import os
import signal
import socket
import struct
import sys
import time

import msgpack

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
IO_S = 5.0


def say(*words):
    print(*words, flush=True)


def fail(why):
    print("FAIL: " + why, file=sys.stderr, flush=True)
    sys.exit(1)


def connect(port, src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(IO_S)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_until(s, marker, deadline):
    """Bytes up to and including marker; b"" on EOF before it."""
    buf = b""
    while marker not in buf:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            return buf
        if not chunk:
            return buf
        buf += chunk
    return buf


def http_head(s):
    """(status, {lower-case name: value}, rest) of the reply on s;
    status None when the connection closed first."""
    raw = read_until(s, b"\r\n\r\n", time.monotonic() + IO_S)
    if b"\r\n\r\n" not in raw:
        return None, {}, raw
    head, rest = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest


def upgrade_request(port, key=None, version="13", origin=None, host=None,
                    extra=""):
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    req = "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n" \
          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n" % (
              host or "127.0.0.1:%d" % port, key)
    if version is not None:
        req += "Sec-WebSocket-Version: %s\r\n" % version
    if origin is not None:
        req += "Origin: %s\r\n" % origin
    return (req + extra + "\r\n").encode(), key


def handshake(port, src=None, **kw):
    """(socket, status, headers, leftover bytes) after an upgrade."""
    s = connect(port, src)
    req, key = upgrade_request(port, **kw)
    s.sendall(req)
    status, hdrs, rest = http_head(s)
    if status == 101:
        want = base64.b64encode(
            hashlib.sha1(key.encode() + GUID).digest()).decode()
        if hdrs.get("sec-websocket-accept") != want:
            fail("Sec-WebSocket-Accept %r, want %r" %
                 (hdrs.get("sec-websocket-accept"), want))
    return s, status, hdrs, rest


def frame(opcode, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | opcode
    m = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        hdr = bytes([b0, m | n])
    elif n < 65536:
        hdr = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        hdr = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        hdr += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return hdr + payload


class Frames:
    """Reads the server's (unmasked) frames from s."""

    def __init__(self, s, rest=b""):
        self.s = s
        self.buf = rest

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                return False
            except socket.timeout:
                raise
            if not chunk:
                return False
            self.buf += chunk
        return True

    def next(self, timeout=IO_S):
        """(opcode, payload), or None at EOF. socket.timeout if none."""
        deadline = time.monotonic() + timeout
        if not self._need(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            fail("the server masked a frame")
        n, off = b1 & 0x7F, 2
        if n == 126:
            if not self._need(4, deadline):
                return None
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            if not self._need(10, deadline):
                return None
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        if not self._need(off + n, deadline):
            return None
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0F, payload


def report_until_close(fr, timeout=IO_S):
    """Prints each frame until the close frame (its code) or EOF."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            f = fr.next(max(0.01, deadline - time.monotonic()))
        except socket.timeout:
            say("timeout")
            return
        if f is None:
            say("eof")
            return
        op, payload = f
        if op == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 \
                else 0
            say("close", code)
            # The server closes the TCP connection after its close frame.
            try:
                more = fr.next(2.0)
            except socket.timeout:
                say("still open")
                return
            say("eof" if more is None else "more after close")
            return
        if op == 0x2:
            m = msgpack.unpackb(payload, raw=False)
            if m[0] == 2 and m[1] == "error":
                say("notify", m[2][0][0], m[2][0][1])
            else:
                say("message", m[0])
        elif op == 0x9:
            continue  # a ping of the heartbeat
        elif op == 0xA:
            say("pong", payload.decode("utf-8", "replace"))
        else:
            say("frame", op)


def rpc(s, fr, msgid, method, params=None):
    s.sendall(frame(0x2, msgpack.packb(
        [0, msgid, method, [] if params is None else [params]])))
    while True:
        f = fr.next()
        if f is None:
            fail("eof waiting for the reply to %s" % method)
        if f[0] != 0x2:
            continue
        m = msgpack.unpackb(f[1], raw=False)
        if m[0] == 1 and m[1] == msgid:
            if m[2] is not None:
                fail("%s refused: %r" % (method, m[2]))
            return m[3]


def session(args, **kw):
    s, status, hdrs, rest = handshake(args.port, **kw)
    if status != 101:
        fail("upgrade answered %s" % status)
    fr = Frames(s, rest)
    if args.token:
        rpc(s, fr, 1, "hello", {"token": args.token})
    return s, fr


# ------------------------------------------------------------------ cases

def case_http(args, data):
    s = connect(args.port)
    s.sendall(data)
    status, hdrs, rest = http_head(s)
    say("status", status if status is not None else "none")
    # Whatever the answer, the connection ends (no keep-alive after bad
    # input).
    end = read_until(s, b"\0never\0", time.monotonic() + IO_S)
    say("closed" if b"\0never\0" not in end else "open")


def case_badline(args):
    case_http(args, b"BLAH /healthz HTTP/1.1 what\r\nHost: x\r\n\r\n")


def case_garbage(args):
    case_http(args, b"\x16\x03\x01\x00\xff garbage\r\n\r\n")


def case_bigheaders(args):
    case_http(args, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Fill: " +
              b"a" * 9000 + b"\r\n\r\n")


def case_slow(args):
    """Half a request, then nothing: closed once frame-timeout passes."""
    s = connect(args.port)
    t0 = time.monotonic()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    got = read_until(s, b"\0never\0", t0 + 3 * args.wait)
    took = time.monotonic() - t0
    if b"\0never\0" in got:
        fail("impossible")
    say("reply", got.split(b"\r\n")[0].decode("latin-1") if got else "none")
    say("closed" if took < 3 * args.wait else "open")
    # Not before frame-timeout (--wait): a timer, not a refusal.
    say("not before the timeout" if took >= 0.9 * args.wait
        else "early: %.2f s" % took)


def case_upgrade(args):
    """An upgrade with the header values given; prints the status and
    the headers that matter; on 101, a ping over the session."""
    kw = {}
    if args.version is not None:
        kw["version"] = None if args.version == "none" else args.version
    if args.key is not None:
        kw["key"] = args.key
    if args.origin is not None:
        kw["origin"] = args.origin
    if args.host is not None:
        kw["host"] = args.host.replace("PORT", str(args.port))
    s, status, hdrs, rest = handshake(args.port, **kw)
    say("status", status)
    if "sec-websocket-version" in hdrs:
        say("header sec-websocket-version:", hdrs["sec-websocket-version"])
    if status == 101:
        fr = Frames(s, rest)
        say("ping:", rpc(s, fr, 1, "ping"))
    else:
        n = int(hdrs.get("content-length", "0"))
        body = rest
        while len(body) < n:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        say("body", body.decode("utf-8", "replace").strip())


def case_frame(args, data, hello=True):
    s, fr = session(args)
    s.sendall(data)
    report_until_close(fr)


def case_text(args):
    case_frame(args, frame(0x1, b'[0,1,"ping",[]]'))


def case_unmasked(args):
    case_frame(args, frame(0x2, msgpack.packb([0, 1, "ping", []]),
                           mask=False))


def case_opcode(args):
    case_frame(args, frame(0x3, b"what"))


def case_rsv(args):
    case_frame(args, frame(0x2, msgpack.packb([0, 1, "ping", []]), rsv=0x40))


def case_closeutf8(args):
    case_frame(args, frame(0x8, struct.pack("!H", 1000) + b"bad \xc3\x28 utf8"))


def case_closecode(args):
    case_frame(args, frame(0x8, struct.pack("!H", 999)))


def case_toobig(args):
    """args.size bytes in 16 fragments: over max-frame only added up."""
    body = msgpack.packb([0, 1, "ping", ["x" * args.size]])
    n = (len(body) + 15) // 16
    parts = [body[i:i + n] for i in range(0, len(body), n)]
    data = b"".join(
        frame(0x2 if i == 0 else 0x0, p, fin=(i == len(parts) - 1))
        for i, p in enumerate(parts))
    case_frame(args, data)


def case_two(args):
    one = msgpack.packb([0, 1, "ping", []])
    case_frame(args, frame(0x2, one + msgpack.packb([0, 2, "ping", []])))


def case_half(args):
    one = msgpack.packb([0, 1, "ping", []])
    case_frame(args, frame(0x2, one[:len(one) // 2]))


def case_empty(args):
    case_frame(args, frame(0x2, b""))


def case_partial(args):
    """The first fragment of a message and never its end: frame-timeout
    ends it as a half message on TCP."""
    case_frame(args, frame(0x2, b"\x94\x00\x01", fin=False))


def case_goodbye(args):
    """A request and the client's close in one write: the reply, then
    the close echoed, then the end."""
    case_frame(args, frame(0x2, msgpack.packb([0, 5, "ping", []])) +
               frame(0x8, struct.pack("!H", 1000) + b"bye"))


def case_flood(args):
    """Upgrades one after another, each kept open and said hello on,
    until args.n; prints how many were taken and each refusal; then
    every session taken still answers ping."""
    taken, refused = [], {}
    for _ in range(args.n):
        s, status, hdrs, rest = handshake(args.port, src=args.src)
        if status == 101:
            fr = Frames(s, rest)
            if args.token:
                rpc(s, fr, 1, "hello", {"token": args.token})
            taken.append((s, fr))
            continue
        n = int(hdrs.get("content-length", "0"))
        body = rest
        while len(body) < n:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        why = "%d %s" % (status, body.decode().strip())
        refused[why] = refused.get(why, 0) + 1
        s.close()
    say("taken", len(taken))
    for why, k in sorted(refused.items()):
        say("refused", k, why)
    ok = sum(1 for s, fr in taken if rpc(s, fr, 2, "ping") == "pong")
    say("pings", ok)


def case_slowreader(args):
    """Asks for much and reads nothing: wishd drops the session once its
    unread output passes output-buffer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(IO_S)
    s.connect(("127.0.0.1", args.port))
    req, key = upgrade_request(args.port)
    s.sendall(req)
    status, hdrs, rest = http_head(s)
    if status != 101:
        fail("upgrade answered %s" % status)
    fr = Frames(s, rest)
    rpc(s, fr, 1, "hello", {"token": args.token})
    one = frame(0x2, msgpack.packb([0, 7, "skills", []]))
    sent, t0 = 0, time.monotonic()
    s.settimeout(0.5)
    try:
        while sent < args.n and time.monotonic() - t0 < IO_S:
            s.sendall(one * 64)
            sent += 64
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    say("sent", "some" if sent > 0 else "none")
    # Now read: what was sent before the drop, then the end.
    deadline = time.monotonic() + IO_S
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        except socket.timeout:
            say("still open")
            return
        if not chunk:
            say("dropped")
            return


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("port", type=int)
    ap.add_argument("token", nargs="?")
    ap.add_argument("--version")
    ap.add_argument("--key")
    ap.add_argument("--origin")
    ap.add_argument("--host")
    ap.add_argument("--src")
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--wait", type=float, default=1.0)
    ap.add_argument("--deadline", type=int, default=20)
    args = ap.parse_args()
    signal.alarm(args.deadline)
    try:
        CASES[args.case](args)
    except OSError as e:
        fail("%s: %s" % (type(e).__name__, e))
    say("done")


if __name__ == "__main__":
    main()
