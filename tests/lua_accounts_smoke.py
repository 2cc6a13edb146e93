#!/usr/bin/env python3
"""tests/lua_accounts_smoke.py -- the accounts functions (60_accounts.lua)
called directly in a private redis-server.

    python3 tests/lua_accounts_smoke.py

Starts redis-server on a free port in a temporary directory, loads the
library assembled from matcher/lua/*.lua in name order (as
scripts/embed.sh does), calls the functions as wishd would, and stops the
server. Exits 1 on the first failed check. Needs redis-server and
python3-msgpack (scripts/deps).
"""
import datetime
import glob
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time

try:
    import msgpack
except ImportError:
    sys.stderr.write("lua_accounts_smoke.py: needs python3-msgpack "
                     "(scripts/deps)\n")
    sys.exit(69)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CITY = "jinan"
NOW = 1796620800  # 2026-12-07 05:20:00 UTC, 13:20:00 in Jinan
# Token expiry is kept by Redis's clock (SET EXAT), not by `now`.
LATER = int(time.time()) + 600

SETTINGS = {
    "offer_ttl": 600, "offer_fanout": 1, "offer_keep": 86400,
    "sweep_batch": 8, "sweep_rematch_batch": 4, "rematch_interval": 30,
    "tz_offset": 480, "max_span": 604800, "max_horizon": 31536000,
    "start_grace": 300, "max_open_wishes": 20, "max_open_posts": 500,
    "inbox_max": 1000, "inbox_ttl": 2592000, "match_k": 8,
    "match_rounds": 5, "match_max_examined": 64, "match_min_radius": 25,
    "match_first_radius": 1000, "match_max_radius": 20000,
    "nearby_max_radius": 20000, "nearby_max_examined": 100,
    "request_ttl": 86400, "rank_fairness_m": 5, "rank_rating_m": 5,
    "rank_default_rating": 4, "checkin_radius": 500, "hours_per_point": 1,
    "review_regions": [], "city_bounds": {},
    "login_ttl": 604800, "invite_ttl": 604800, "login_free_fails": 5,
    "login_addr_free_fails": 50, "login_lock_base": 30,
    "login_lock_max": 3600,
}
CFG = msgpack.packb(SETTINGS)

GUEST = {"user": "", "role": "guest", "region": CITY}
SYSTEM = {"user": "wishd", "role": "system", "region": CITY}
ADMIN = {"user": "boss", "role": "admin", "region": CITY}
COORD = {"user": "co1", "role": "coordinator", "region": "jinan/lixia"}
XINHE = "jinan/lixia/quancheng/xinhe"


class RedisError(Exception):
    pass


class Redis:
    """Just enough RESP2 for these calls."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


passed = 0


def check(cond, what):
    """Stops at the first failure (main's finally stops the server)."""
    if not cond:
        print("FAIL:", what)
        print("lua_accounts_smoke: %d passed, 1 failed" % passed)
        raise SystemExit(1)


def sha(code):
    return hashlib.sha256(code.encode()).hexdigest()


def city_time(t):
    return (datetime.datetime.utcfromtimestamp(t)
            + datetime.timedelta(minutes=480)).strftime("%Y-%m-%d %H:%M:%S")


def main():
    tmp = tempfile.mkdtemp(prefix="lua_accounts_")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", tmp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = None
        for _ in range(100):
            try:
                r = Redis(port)
                r.call("PING")
                break
            except OSError:
                time.sleep(0.05)
        check(r is not None, "redis-server answers")
        run(r)
    finally:
        srv.terminate()
        srv.wait()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    print("lua_accounts_smoke: %d passed, 0 failed" % passed)


def run(r):
    global passed
    src = b"".join(open(f, "rb").read()
                   for f in sorted(glob.glob(os.path.join(
                       ROOT, "matcher/lua/*.lua"))))
    r.call("FUNCTION", "LOAD", "REPLACE", src)
    p = "{%s}" % CITY

    def call(fn, caller, params=None, now=NOW, ro=False):
        res = r.call("FCALL_RO" if ro else "FCALL", "wish_" + fn, 1, p,
                     now, msgpack.packb(caller),
                     msgpack.packb(params or {}), CFG)
        return msgpack.unpackb(res, raw=False, strict_map_key=False)

    def ok(fn, caller, params=None, **kw):
        global passed
        try:
            res = call(fn, caller, params, **kw)
        except RedisError as e:
            check(False, "%s %r: %s" % (fn, params, e))
        passed += 1
        return res

    def refused(fn, caller, params, code, msg=None, **kw):
        global passed
        try:
            call(fn, caller, params, **kw)
        except RedisError as e:
            # as wishd: cut what Redis appends (" script: ...")
            text = str(e).split(" script: ")[0]
            check(text.startswith(code + " "),
                  "%s %r: wanted %s, got %s" % (fn, params, code, text))
            if msg is not None:
                check(msg in text, "%s %r: wanted %r in %r"
                      % (fn, params, msg, text))
            passed += 1
            return text
        check(False, "%s %r: wanted %s, it succeeded" % (fn, params, code))

    def acct(user):
        flat = r.call("HGETALL", "%s:acct:%s" % (p, user))
        return {flat[i].decode(): flat[i + 1].decode()
                for i in range(0, len(flat), 2)}

    # ---- invites
    refused("account_invite", COORD, {
        "role": "coordinator", "region": "jinan/lixia", "count": 1,
        "expires": 3600, "hashes": [sha("x")]}, "FORBIDDEN",
        "a coordinator may invite residents, volunteers and partners only")
    refused("account_invite", COORD, {
        "role": "volunteer", "region": "jinan/shizhong", "count": 1,
        "expires": 3600, "hashes": [sha("x")]}, "FORBIDDEN",
        "region jinan/shizhong is outside your scope jinan/lixia")
    refused("account_invite", ADMIN, {
        "role": "volunteer", "region": "qingdao/x", "count": 1,
        "expires": 3600, "hashes": [sha("x")]}, "FORBIDDEN",
        "region qingdao/x is in another city")
    refused("account_invite", ADMIN, {
        "role": "volunteer", "region": "jinan", "count": 2,
        "expires": 3600, "hashes": [sha("x")]}, "BAD_REQUEST",
        "field 'hashes'")
    refused("account_invite", ADMIN, {
        "role": "volunteer", "region": "jinan", "count": 1,
        "expires": 59, "hashes": [sha("x")]}, "BAD_REQUEST",
        "field 'expires'")
    refused("account_invite", ADMIN, {
        "role": "volunteer", "region": "jinan", "count": 1,
        "expires": 3600, "hashes": ["ABC"]}, "BAD_REQUEST", "field 'hashes'")
    refused("account_invite", GUEST, {
        "role": "volunteer", "region": "jinan", "count": 1,
        "expires": 3600, "hashes": [sha("x")]}, "FORBIDDEN")
    inv = ok("account_invite", ADMIN, {
        "role": "coordinator", "region": "jinan/lixia", "count": 1,
        "expires": 3600, "hashes": [sha("c1")]})
    check(inv == {"role": "coordinator", "region": "jinan/lixia",
                  "expires": NOW + 3600}, "invite result %r" % inv)
    check(r.call("TTL", "%s:invite:%s" % (p, sha("c1"))) == 3600,
          "invite expires")

    # ---- sign-up by invite
    res = ok("auth_signup", GUEST, {"user": "co1", "name": "协调员",
                                    "pw": "$argon2id$x", "invite": sha("c1")})
    check(res == {"user": "co1", "role": "coordinator",
                  "region": "jinan/lixia", "status": "active", "gen": 1},
          "signup result %r" % res)
    check(r.call("HGET", "%s:user:co1" % p, "n") == "协调员".encode(),
          "profile name")
    refused("auth_signup", GUEST, {"user": "co2", "name": "x", "pw": "p",
                                   "invite": sha("c1")}, "NOT_FOUND",
            "invite is unknown, used or expired")
    ok("account_invite", COORD, {
        "role": "volunteer", "region": XINHE, "count": 2,
        "expires": 3600, "hashes": [sha("v1"), sha("v2")]})
    refused("auth_signup", GUEST, {"user": "co1", "name": "x", "pw": "p",
                                   "invite": sha("v1")}, "CONFLICT",
            "user id co1 is taken")
    ok("auth_signup", GUEST, {"user": "vol1", "name": "Li Lei", "pw": "h1",
                              "phone": "+8613800000001",
                              "invite": sha("v1")})
    refused("auth_signup", GUEST, {"user": "vol2", "name": "x", "pw": "p",
                                   "phone": "+8613800000001",
                                   "invite": sha("v2")}, "CONFLICT",
            "phone is taken")
    refused("auth_signup", GUEST, {"user": "vol2", "name": "x", "pw": "p",
                                   "phone": "12ab56", "invite": sha("v2")},
            "BAD_REQUEST", "field 'phone'")
    refused("auth_signup", GUEST, {"user": "vol2", "name": " ", "pw": "p",
                                   "invite": sha("v2")},
            "BAD_REQUEST", "field 'name'")
    refused("auth_signup", GUEST, {"user": "a:b", "name": "x", "pw": "p",
                                   "invite": sha("v2")},
            "BAD_REQUEST", "field 'user'")
    # a user id with a profile but no account (secret tokens) is taken
    r.call("HSET", "%s:user:oldhand" % p, "n", "Old Hand")
    refused("auth_signup", GUEST, {"user": "oldhand", "name": "x", "pw": "p",
                                   "invite": sha("v2")}, "CONFLICT",
            "user id oldhand is taken")
    ok("auth_signup", GUEST, {"user": "vol2", "name": "Han Meimei",
                              "pw": "h2", "invite": sha("v2")})

    # ---- sign-up by region
    refused("auth_signup", GUEST, {"user": "p1", "name": "x", "pw": "p",
                                   "region": XINHE}, "FORBIDDEN",
            "sign-up is not open in " + XINHE)
    refused("auth_signup", GUEST, {"user": "p1", "name": "x", "pw": "p"},
            "BAD_REQUEST", "give invite or region")
    refused("auth_signup", GUEST, {"user": "p1", "name": "x", "pw": "p",
                                   "region": XINHE, "invite": sha("v2")},
            "BAD_REQUEST", "give invite or region")
    refused("signup_open", COORD, {"region": XINHE, "open": True},
            "FORBIDDEN")
    refused("signup_open", ADMIN, {"region": "jinan/lixia", "open": True},
            "BAD_REQUEST", "field 'region'")
    check(ok("signup_open", ADMIN, {"region": XINHE, "open": True})
          == {"region": XINHE, "open": True}, "signup_open result")
    refused("auth_signup", GUEST, {"user": "p1", "name": "x", "pw": "p",
                                   "region": "qingdao/a/b/c"}, "FORBIDDEN",
            "in another city")
    res = ok("auth_signup", GUEST, {"user": "p1", "name": "Pending One",
                                    "pw": "p", "region": XINHE})
    check(res["status"] == "pending" and res["role"] == "volunteer"
          and res["region"] == XINHE, "pending signup %r" % res)
    ok("auth_signup", GUEST, {"user": "p2", "name": "Pending Two",
                              "pw": "p", "region": XINHE})
    refused("auth_signup", SYSTEM, {"user": "p3", "name": "x", "pw": "p",
                                    "region": XINHE}, "FORBIDDEN")
    refused("auth_signup", COORD, {"user": "p3", "name": "x", "pw": "p",
                                   "region": XINHE}, "FORBIDDEN")

    # ---- log-in
    res = ok("auth_begin", GUEST, {"name": "u:vol1", "peer": "1.2.3.4"},
             ro=True)
    check(res == {"found": True, "user": "vol1", "pw": "h1",
                  "status": "active"}, "begin %r" % res)
    res = ok("auth_begin", GUEST, {"name": "p:+8613800000001",
                                   "peer": "1.2.3.4"}, ro=True)
    check(res["user"] == "vol1", "begin by phone %r" % res)
    check(ok("auth_begin", GUEST, {"name": "u:nobody", "peer": "1.2.3.4"})
          == {"found": False}, "begin unknown")
    check(ok("auth_begin", GUEST, {"name": "p:999999",
                                   "peer": "1.2.3.4"}) == {"found": False},
          "begin unknown phone")
    refused("auth_begin", GUEST, {"name": "x:vol1", "peer": "1.2.3.4"},
            "BAD_REQUEST", "field 'name'")
    refused("auth_begin", GUEST, {"name": "u:vol1", "peer": "1.2.3.4 x"},
            "BAD_REQUEST", "field 'peer'")
    refused("auth_begin", SYSTEM, {"name": "u:vol1", "peer": "1.2.3.4"},
            "FORBIDDEN")
    res = ok("auth_finish", GUEST, {"name": "u:vol1", "peer": "1.2.3.4",
                                    "user": "vol1", "ok": True}, now=NOW + 5)
    check(res == {"ok": True, "user": "vol1", "role": "volunteer",
                  "region": XINHE, "status": "active", "gen": 1},
          "finish %r" % res)
    check(acct("vol1")["last_login"] == str(NOW + 5), "last_login")
    refused("auth_finish", GUEST, {"name": "u:vol1", "peer": "1.2.3.4",
                                   "user": "vol2", "ok": True},
            "UNAUTHENTICATED", "wrong user or password")

    # failures: five free, then 30 s, 60 s, ... up to the max
    nk = "%s:login:n:u:vol1" % p
    fail_args = {"name": "u:vol1", "peer": "1.2.3.4", "user": "vol1",
                 "ok": False}
    for _ in range(5):
        check(ok("auth_finish", GUEST, fail_args) == {"ok": False},
              "finish fail")
    check(r.call("HGET", nk, "until") is None, "no lock after 5")
    ok("auth_finish", GUEST, fail_args)
    check(r.call("HGET", nk, "until") == str(NOW + 30).encode(),
          "first lock 30 s")
    check(r.call("TTL", nk) == 3630, "counter ttl max + lock")
    msg = refused("auth_begin", GUEST, {"name": "u:vol1",
                                        "peer": "1.2.3.4"}, "RATE_LIMITED",
                  now=NOW + 10, ro=True)
    want = ("RATE_LIMITED too many failed log-ins for this account; locked "
            "until %s (city time); retry in 20000 ms" % city_time(NOW + 30))
    check(msg == want, "lock message %r, wanted %r" % (msg, want))
    check(city_time(NOW + 30) == "2026-12-07 13:20:30", "city time")
    # the right password while locked: refused at begin all the same
    refused("auth_begin", GUEST, {"name": "u:vol1", "peer": "5.6.7.8"},
            "RATE_LIMITED", "for this account", now=NOW + 29)
    ok("auth_begin", GUEST, {"name": "u:vol1", "peer": "5.6.7.8"},
       now=NOW + 30)
    ok("auth_finish", GUEST, fail_args, now=NOW + 40)
    check(r.call("HGET", nk, "until") == str(NOW + 100).encode(),
          "second lock 60 s")
    for _ in range(10):
        ok("auth_finish", GUEST, fail_args, now=NOW + 200)
    check(r.call("HGET", nk, "until") == str(NOW + 200 + 3600).encode(),
          "lock capped at login_lock_max")
    # a right password clears the name's count, not the address's
    ok("auth_finish", GUEST, {"name": "u:vol1", "peer": "1.2.3.4",
                              "user": "vol1", "ok": True}, now=NOW + 4000)
    check(r.call("EXISTS", nk) == 0, "name counter cleared")
    check(r.call("EXISTS", "%s:login:a:1.2.3.4" % p) == 1,
          "address counter kept")

    # the address: 50 free failures over any names
    for i in range(50):
        ok("auth_finish", GUEST, {"name": "u:guess%d" % i,
                                  "peer": "9.9.9.9", "user": "",
                                  "ok": False})
    ok("auth_begin", GUEST, {"name": "u:vol2", "peer": "9.9.9.9"})
    ok("auth_finish", GUEST, {"name": "u:guess50", "peer": "9.9.9.9",
                              "user": "", "ok": False})
    refused("auth_begin", GUEST, {"name": "u:vol2", "peer": "9.9.9.9"},
            "RATE_LIMITED", "from this address; locked until "
            + city_time(NOW + 30) + " (city time); retry in 30000 ms")
    ok("auth_begin", GUEST, {"name": "u:vol2", "peer": "9.9.9.8"})

    # ---- sessions
    VOL1 = {"user": "vol1", "role": "volunteer", "region": XINHE}
    tid1, tid2 = "A" * 22, "B" * 21 + "-"
    res = ok("auth_session", VOL1, {"gen": 1, "tid": tid1}, ro=True)
    check(res == {"status": "active", "seq": 0}, "session %r" % res)
    refused("auth_session", VOL1, {"gen": 2, "tid": tid1},
            "UNAUTHENTICATED", "token is invalid or expired")
    refused("auth_session", dict(VOL1, role="coordinator"),
            {"gen": 1, "tid": tid1}, "UNAUTHENTICATED")
    refused("auth_session", dict(VOL1, region="jinan/lixia"),
            {"gen": 1, "tid": tid1}, "UNAUTHENTICATED")
    refused("auth_session", VOL1, {"gen": 1, "tid": "short"},
            "BAD_REQUEST", "field 'tid'")
    refused("auth_session", GUEST, {"gen": 1, "tid": tid1}, "FORBIDDEN")
    check(ok("auth_logout", VOL1, {"tid": tid1, "expires": LATER})
          is True, "logout")
    refused("auth_session", VOL1, {"gen": 1, "tid": tid1},
            "UNAUTHENTICATED")
    ok("auth_session", VOL1, {"gen": 1, "tid": tid2})
    check(r.call("EXPIRETIME", "%s:tokrev:%s" % (p, tid1)) == LATER,
          "tokrev expires with the token")
    res = ok("auth_refresh", VOL1, {"gen": 1}, ro=True)
    check(res["gen"] == 1 and res["user"] == "vol1", "refresh %r" % res)
    check(ok("auth_logout_all", VOL1) is True, "logout_all")
    refused("auth_session", VOL1, {"gen": 1, "tid": tid2},
            "UNAUTHENTICATED")
    refused("auth_refresh", VOL1, {"gen": 1}, "UNAUTHENTICATED")
    res = ok("auth_session", VOL1, {"gen": 2, "tid": tid2})
    check(res == {"status": "active", "seq": 2}, "session after %r" % res)
    res = ok("auth_feed", SYSTEM, {"after": 0}, ro=True)
    check(res == {"seq": 2, "behind": False, "changes": [
        {"tid": tid1}, {"user": "vol1", "gen": 2, "status": "active"}]},
        "feed %r" % res)
    check(ok("auth_feed", SYSTEM, {"after": 1})["changes"]
          == [{"user": "vol1", "gen": 2, "status": "active"}], "feed after")
    refused("auth_feed", VOL1, {"after": 0}, "FORBIDDEN")
    refused("auth_feed", GUEST, {"after": 0}, "FORBIDDEN")
    refused("auth_feed", SYSTEM, {"after": -1}, "BAD_REQUEST")
    refused("auth_logout", SYSTEM, {"tid": tid1, "expires": NOW},
            "FORBIDDEN")

    # ---- account.me / update
    res = ok("account_me", VOL1, ro=True)
    check(res == {"user": "vol1", "name": "Li Lei", "role": "volunteer",
                  "region": XINHE, "status": "active", "created": NOW,
                  "last_login": NOW + 4000, "phone": "+8613800000001"},
          "me %r" % res)
    refused("account_me", {"user": "minted", "role": "resident",
                           "region": XINHE}, None, "NOT_FOUND",
            "no account for this token")
    refused("account_update", VOL1, {"phone": "+8613800000001",
                                     "name": "x" * 65}, "BAD_REQUEST",
            "field 'name'")
    ok("auth_signup", GUEST, {"user": "vol3", "name": "Three", "pw": "p",
                              "phone": "13900000003", "region": XINHE})
    refused("account_update", VOL1, {"phone": "13900000003"}, "CONFLICT",
            "phone is taken")
    res = ok("account_update", VOL1, {"name": "李雷", "phone": "13900000001"})
    check(res["name"] == "李雷" and res["phone"] == "13900000001"
          and res["gen"] == 2, "update %r" % res)
    check(r.call("GET", "%s:phone:13900000001" % p) == b"vol1"
          and r.call("EXISTS", "%s:phone:+8613800000001" % p) == 0,
          "phone index moved")
    check(r.call("HGET", "%s:user:vol1" % p, "n") == "李雷".encode(),
          "profile name follows")
    res = ok("account_update", VOL1, {"phone": ""})
    check("phone" not in res and r.call("EXISTS",
                                        "%s:phone:13900000001" % p) == 0,
          "phone removed")
    res = ok("account_update", VOL1, {"pw": "h1b"})
    check(res["gen"] == 3 and acct("vol1")["pw"] == "h1b", "pw update")
    VOL1["gen"] = 3

    # ---- reset codes
    refused("account_reset", COORD, {"user": "co1", "hash": sha("r0"),
                                     "expires": 3600}, "FORBIDDEN",
            "a coordinator may manage residents, volunteers and partners only")
    res = ok("account_reset", COORD, {"user": "vol1", "hash": sha("r1"),
                                      "expires": 3600})
    check(res == {"user": "vol1", "expires": NOW + 3600}, "reset %r" % res)
    refused("auth_signup", GUEST, {"user": "zz", "name": "x", "pw": "p",
                                   "invite": sha("r1")}, "NOT_FOUND",
            "invite is unknown")
    for _ in range(3):
        ok("auth_finish", GUEST, fail_args)
    seq0 = ok("auth_feed", SYSTEM, {"after": 0})["seq"]
    res = ok("auth_reset", GUEST, {"code": sha("r1"), "pw": "h1c"})
    check(res == {"user": "vol1", "role": "volunteer", "region": XINHE,
                  "status": "active", "gen": 4}, "auth_reset %r" % res)
    check(r.call("EXISTS", nk) == 0, "reset clears the name's count")
    check(ok("auth_feed", SYSTEM, {"after": seq0})["changes"]
          == [{"user": "vol1", "gen": 4, "status": "active"}], "reset feed")
    refused("auth_reset", GUEST, {"code": sha("r1"), "pw": "x"}, "NOT_FOUND",
            "reset code is unknown, used or expired")
    refused("auth_reset", GUEST, {"code": sha("v2"), "pw": "x"}, "NOT_FOUND")

    # ---- review
    refused("account_review", COORD, {"user": "vol1", "approve": True},
            "CONFLICT", "account vol1 is not waiting for review")
    res = ok("account_review", COORD, {"user": "p1", "approve": False,
                                       "reason": "unknown here"})
    check(res["status"] == "disabled" and res["reason"] == "unknown here",
          "reject %r" % res)
    inbox = r.call("LRANGE", "%s:inbox:p1" % p, 0, -1)
    ev = msgpack.unpackb(inbox[-1][16:], raw=False)
    check(ev["type"] == "account_reviewed" and ev["approved"] is False
          and ev["reason"] == "unknown here", "review event %r" % ev)
    res = ok("account_review", COORD, {"user": "p2", "approve": True})
    check(res["status"] == "active" and "reason" not in res, "approve")
    ev = msgpack.unpackb(r.call("LRANGE", "%s:inbox:p2" % p, -1, -1)[0][16:],
                         raw=False)
    check(ev == {"type": "account_reviewed", "approved": True,
                 "id": ev["id"], "at": NOW}, "approve event %r" % ev)
    refused("auth_finish", GUEST, {"name": "u:p1", "peer": "1.1.1.1",
                                   "user": "p1", "ok": True}, "FORBIDDEN",
            "account disabled: unknown here")

    # ---- disable / enable and scope
    SHIZ = {"user": "co9", "role": "coordinator", "region": "jinan/shizhong"}
    refused("account_disable", SHIZ, {"user": "vol1"}, "FORBIDDEN",
            "account vol1 is outside your scope")
    refused("account_disable", ADMIN, {"user": "boss"}, "CONFLICT",
            "you cannot disable yourself")
    refused("account_disable", COORD, {"user": "co1"}, "CONFLICT")
    refused("account_disable", COORD, {"user": "ghost"}, "NOT_FOUND")
    refused("account_disable", VOL1, {"user": "vol2"}, "FORBIDDEN")
    res = ok("account_disable", COORD, {"user": "vol1", "reason": "spam"})
    check(res["status"] == "disabled" and res["reason"] == "spam"
          and acct("vol1")["gen"] == "5", "disable %r" % res)
    refused("auth_session", VOL1, {"gen": 5, "tid": tid2},
            "UNAUTHENTICATED")
    refused("auth_reset", GUEST, {"code": sha("r9"), "pw": "x"},
            "NOT_FOUND")
    ok("account_reset", ADMIN, {"user": "vol1", "hash": sha("r9"),
                                "expires": 60})
    refused("auth_reset", GUEST, {"code": sha("r9"), "pw": "x"},
            "FORBIDDEN", "account disabled: spam")
    res = ok("account_enable", COORD, {"user": "vol1"})
    check(res["status"] == "active" and "reason" not in res
          and "reason" not in acct("vol1"), "enable %r" % res)
    feed = ok("auth_feed", SYSTEM, {"after": 0})
    check(feed["changes"][-1] == {"user": "vol1", "gen": 5,
                                  "status": "active"}, "enable feed")

    # ---- account.list: paging, filters, scope
    ok("account_invite", ADMIN, {"role": "resident",
                                 "region": "jinan/shizhong/a/b", "count": 1,
                                 "expires": 3600, "hashes": [sha("s1")]})
    ok("auth_signup", GUEST, {"user": "res1", "name": "Shizhong",
                              "pw": "p", "invite": sha("s1")})
    hashes = [sha("m%d" % i) for i in range(25)]
    ok("account_invite", COORD, {"role": "volunteer", "region": XINHE,
                                 "count": 25, "expires": 3600,
                                 "hashes": hashes})
    for i, h in enumerate(hashes):
        ok("auth_signup", GUEST, {"user": "m%02d" % i, "name": "M %d" % i,
                                  "pw": "p", "invite": h,
                                  "phone": "1550000%04d" % i})
    r.call("HSET", "%s:user:m07" % p, "s", "meals,repair")
    r.call("HSET", "%s:user:m08" % p, "s", "repair")
    seen, cursor, pages = [], "", 0
    while True:
        res = ok("account_list", COORD, {"limit": 7, "cursor": cursor},
                 ro=True)
        seen += [a["user"] for a in res["accounts"]]
        check(all("phone" in a for a in res["accounts"]
                  if a["user"].startswith("m")), "staff see phones")
        pages += 1
        cursor = res["cursor"]
        if cursor == "":
            break
    want = sorted(["co1", "vol1", "vol2", "p1", "p2", "vol3"]
                  + ["m%02d" % i for i in range(25)])
    check(sorted(seen) == want and len(seen) == len(want),
          "list pages %r" % seen)
    check(seen[-1] == "co1", "coordinator of the district last (scope order)")
    check(pages == 5, "pages %d" % pages)
    res = ok("account_list", ADMIN, {"region": "jinan"})
    check(res["cursor"] != "" and len(res["accounts"]) == 20, "admin page")
    got = ok("account_list", COORD, {"status": "disabled"})["accounts"]
    check([a["user"] for a in got] == ["p1"], "status filter %r" % got)
    got = ok("account_list", COORD, {"role": "coordinator"})["accounts"]
    check([a["user"] for a in got] == ["co1"], "role filter")
    got = ok("account_list", COORD, {"skill": "repair"})["accounts"]
    check([a["user"] for a in got] == ["m07", "m08"], "skill filter")
    got = ok("account_list", COORD, {"q": "M 1"})["accounts"]
    check(len(got) == 11, "q by name %r" % [a["user"] for a in got])
    got = ok("account_list", COORD, {"q": "15500000003"})["accounts"]
    check([a["user"] for a in got] == ["m03"], "q by phone")
    got = ok("account_list", COORD, {"q": "vol"})["accounts"]
    check(len(got) == 3, "q by id")
    got = ok("account_list", ADMIN, {"region": "jinan/shizhong"})
    check([a["user"] for a in got["accounts"]] == ["res1"]
          and got["cursor"] == "", "another scope")
    refused("account_list", COORD, {"region": "jinan/shizhong"},
            "FORBIDDEN", "outside your scope")
    refused("account_list", COORD, {"cursor": "jinan/shizhong/a/b/|res1"},
            "BAD_REQUEST", "field 'cursor'")
    refused("account_list", COORD, {"limit": 101}, "BAD_REQUEST")
    refused("account_list", COORD, {"status": "gone"}, "BAD_REQUEST")
    refused("account_list", COORD, {"skill": "Bad Skill"}, "BAD_REQUEST")
    refused("account_list", VOL1, {}, "FORBIDDEN")
    # a call examines at most 500 members: 600 without accounts
    args = []
    for i in range(600):
        args += [0, "jinan/lixia/aaa/|ghost%03d" % i]
    r.call("ZADD", "%s:accts" % p, *args)
    res = ok("account_list", COORD, {"role": "admin"})
    check(res["accounts"] == []
          and res["cursor"] == "jinan/lixia/aaa/|ghost499", "bounded list")
    res = ok("account_list", COORD, {"role": "admin",
                                     "cursor": res["cursor"]})
    check(res["accounts"] == [] and res["cursor"] == "", "bounded list end")

    # ---- feed paging and behind
    top = ok("auth_feed", SYSTEM, {"after": 0})["seq"]
    for i in range(600):
        call("auth_logout", VOL1, {"tid": "T%021d" % i, "expires": LATER})
    res = ok("auth_feed", SYSTEM, {"after": top})
    check(len(res["changes"]) == 500 and res["seq"] == top + 500
          and res["changes"][0] == {"tid": "T%021d" % 0}
          and not res["behind"], "feed page 1")
    res = ok("auth_feed", SYSTEM, {"after": res["seq"]})
    check(len(res["changes"]) == 100 and res["seq"] == top + 600,
          "feed page 2")
    res = ok("auth_feed", SYSTEM, {"after": top + 600})
    check(res == {"seq": top + 600, "behind": False, "changes": []},
          "feed idle")
    r.call("ZREMRANGEBYRANK", "%s:acctfeed" % p, 0, 9)  # as if trimmed
    check(ok("auth_feed", SYSTEM, {"after": 3})["behind"], "behind")
    check(not ok("auth_feed", SYSTEM, {"after": 10})["behind"], "not behind")
    check(ok("auth_feed", SYSTEM, {"after": top + 700})["behind"],
          "behind a counter that went back")

    # ---- read-only flags: writes refused under FCALL_RO
    try:
        call("account_enable", COORD, {"user": "vol1"}, ro=True)
        check(False, "FCALL_RO of a writing function")
    except RedisError:
        pass


if __name__ == "__main__":
    main()
