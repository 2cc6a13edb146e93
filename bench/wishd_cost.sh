#!/bin/sh
# bench/wishd_cost.sh [VOLUNTEERS] [POSTS] -- what wishd itself spends per
# post of the mobilisation: instructions (callgrind) and system calls
# (strace -c), counted, not timed.
#
# On this shared 2-core machine Redis, wishd and wishbench share the CPU,
# so every instruction wishd spends per post, accept and pushed event
# slows a mobilisation; seconds vary run to run, counts hardly do.
#
# Each mode starts a private redis-server (unix socket in a temp dir),
# seeds a city of VOLUNTEERS (default 10 000) with `wishbench seed`,
# starts wishd (WISHD, default bin/wishd) as bench/run.sh's mobilisation
# does, then runs the mobilisation's load at a fixed size:
#
#   wishbench wishd --connections 8 --pipeline 4 --requests POSTS
#       --agents VOLUNTEERS/4 --max-sessions VOLUNTEERS/8 --seed 31
#
# (POSTS default 2 000; agents v0..v(N/4-1) connected from the start, the
# others on their first offer, as the mobilisation's 10 000 + 5 000 of
# 240 000). What is counted is wishd from just before wishbench starts to
# its end: the agents' hellos, posts, offers pushed, accepts, `assigned`
# pushed, in the proportions of a mobilisation.
#
#   callgrind  wishd runs under valgrind --tool=callgrind with
#              instrumentation off until Redis is up and wishd listens;
#              prints instructions, and those per post; with
#              COST_DETAIL=DIR keeps the dump (DIR/wishd.cg) and its
#              inclusive annotation (DIR/wishd.incl)
#   strace     strace -c -f attached to a plain wishd for the same run;
#              prints system calls by name and per post (epoll_ctl,
#              epoll_wait, read, writev...); COST_DETAIL=DIR keeps the
#              table (DIR/wishd.strace)
#
# COST_MODES picks which (default "callgrind strace"). Prints one JSON
# line per mode. Needs valgrind and strace; strace attaches with ptrace
# (root, or kernel.yama.ptrace_scope 0).
set -eu

N=${1:-10000}
P=${2:-2000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WB=${WISHBENCH:-$ROOT/bin/wishbench}
WISHD=${WISHD:-$ROOT/bin/wishd}
MODES=${COST_MODES:-callgrind strace}
DETAIL=${COST_DETAIL:-}
AGENTS=$((N / 4))
SESSIONS=$((N / 8))
[ -z "$DETAIL" ] || mkdir -p "$DETAIL"

D=$(mktemp -d /tmp/mw-cost-XXXXXX)
RP=
WP=
TP=
cleanup() {
    [ -n "$TP" ] && kill "$TP" 2>/dev/null && wait "$TP" 2>/dev/null
    [ -n "$WP" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null
    [ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null
    RP= WP= TP=
    return 0
}
trap 'cleanup; rm -rf "$D"' EXIT
trap 'cleanup; rm -rf "$D"; exit 130' INT TERM

# wait_for WHAT TENTHS CMD...: until CMD succeeds, at most TENTHS tenths
# of a second.
wait_for() {
    what=$1; tenths=$2; shift 2
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt "$tenths" ] && { echo "$what did not come up" >&2; exit 1; }
        sleep 0.1
    done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# fresh_city: a new Redis with a seeded city; sets RP.
fresh_city() {
    rm -f "$D/r.sock"
    redis-server --port 0 --unixsocket "$D/r.sock" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$D" >"$D/redis.log" 2>&1 &
    RP=$!
    wait_for redis 100 redis-cli -s "$D/r.sock" ping
    "$WB" seed --redis-socket "$D/r.sock" --volunteers "$N" >/dev/null
}

# start_wishd PREFIX...: wishd on free ports (HPORT: HTTP), run through PREFIX (a
# wrapper such as valgrind, or nothing); sets WP and PORT.
start_wishd() {
    PORT=$(free_port)
    HPORT=$(free_port)
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    "$@" "$WISHD" --port "$PORT" --bind 127.0.0.1 \
        --http-port "$HPORT" \
        --redis-socket "$D/r.sock" --secret-file "$D/secret" \
        --max-clients 20000 --log-level "${COST_LOG_LEVEL:-warning}" --rate-user 0 \
        --rate-addr 0 --max-conns-per-addr 0 --max-unauthed-per-addr 0 \
        --rate-hello 0 --max-open-posts 1000000 >"$D/wishd.log" 2>&1 &
    WP=$!
    # Ready: Redis reachable with the library loaded (/readyz).
    wait_for wishd 600 curl -sf "http://127.0.0.1:$HPORT/readyz"
}

# load: the fixed run; its summary line in $D/wb.out.
load() {
    "$WB" wishd --redis-socket "$D/r.sock" --port "$PORT" \
        --secret-file "$D/secret" --connections 8 --pipeline 4 \
        --requests "$P" --seconds 1800 --seed 31 --agents "$AGENTS" \
        --max-sessions "$SESSIONS" --assign-wait 120 --json \
        >"$D/wb.out" 2>"$D/wb.err"
    [ -z "$DETAIL" ] || cp "$D/wb.out" "$D/wb.err" "$D/wishd.log" "$DETAIL/"
}

# field NAME: a number from wishbench's JSON line.
field() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' \
        "$D/wb.out" "$1"
}

head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/secret"
chmod 600 "$D/secret"

for mode in $MODES; do
    fresh_city
    case $mode in
    callgrind)
        start_wishd valgrind --tool=callgrind --instr-atstart=no \
            --callgrind-out-file="$D/cg.out"
        callgrind_control -z "$WP" >/dev/null 2>&1
        callgrind_control -i on "$WP" >/dev/null 2>&1
        load
        callgrind_control -d "$WP" >/dev/null 2>&1
        dump=$(ls "$D"/cg.out.* | head -1)
        total=$(callgrind_annotate "$dump" 2>/dev/null |
                awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
        if [ -n "$DETAIL" ]; then
            cp "$dump" "$DETAIL/wishd.cg"
            callgrind_annotate --inclusive=yes --threshold=99 "$dump" \
                >"$DETAIL/wishd.incl" 2>/dev/null || true
        fi
        posts=$(field ok)
        printf '{"mode":"callgrind","volunteers":%s,"posts":%s,"assigned":%s,"instructions":%s,"instructions_per_post":%s}\n' \
            "$N" "$posts" "$(field assigned)" "$total" "$((total / posts))"
        ;;
    strace)
        start_wishd
        strace -c -f -q -o "$D/strace.out" -p "$WP" &
        TP=$!
        sleep 0.5 # strace attaches
        load
        kill -INT "$TP"; wait "$TP" 2>/dev/null || true; TP=
        [ -z "$DETAIL" ] || cp "$D/strace.out" "$DETAIL/wishd.strace"
        posts=$(field ok)
        python3 - "$D/strace.out" "$N" "$posts" "$(field assigned)" <<'EOF'
import json, sys
calls = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls[f[-1]] = int(f[3])
posts = int(sys.argv[3])
out = {"mode": "strace", "volunteers": int(sys.argv[2]), "posts": posts,
       "assigned": int(sys.argv[4]), "syscalls": sum(calls.values()),
       "syscalls_per_post": round(sum(calls.values()) / posts, 2)}
for name in ("epoll_ctl", "epoll_wait", "read", "readv", "write",
             "writev", "sendmsg", "recvfrom"):
    if name in calls:
        out[name + "_per_post"] = round(calls[name] / posts, 2)
print(json.dumps(out))
EOF
        ;;
    *)
        echo "bench/wishd_cost.sh: unknown mode $mode" >&2; exit 2 ;;
    esac
    cleanup
done
