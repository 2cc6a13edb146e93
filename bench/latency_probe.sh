#!/bin/sh
# bench/latency_probe.sh [RATE] [ROUNDS] -- where the post -> `assigned`
# tail at half the peak comes from: the software, or the machine.
#
# Measures bench/run.sh's "latency at half the peak" phase (a fresh city
# of 10 000 volunteers, open loop at RATE posts/s, 8 connections x 64,
# 10 000 agents accepting every offer) ROUNDS times each way, the two
# ways interleaved:
#
#   shared  redis-server, wishd and wishbench as bench/run.sh runs them,
#           competing for the CPUs with whatever else the machine runs;
#   first   the same processes under `chrt -f 1` (SCHED_FIFO): nothing
#           of ordinary priority can delay them, so what is left of the
#           tail is theirs (their own work, their own queues, and each
#           other on the CPUs). Needs root or CAP_SYS_NICE; skipped
#           otherwise. It takes about one core from other work for the
#           length of a phase.
#
# Beside each phase, bench/sched_canary runs at ordinary priority: a byte
# through 8 wake-ups in a row at RATE a second (no work): the tail the
# machine alone adds to such a chain.
#
# One line per phase: the way, the load average, post -> `assigned`
# p50 / p99 / p99.9 and the canary's. The wishbench JSON lines are kept
# in bench/run/probe-*/results.jsonl. Defaults: RATE 925 (half of the
# ~1 850 matches/s peak measured at 10 k on the shared 2-core machine),
# ROUNDS 2. WISH_BIN as in bench/run.sh.
set -eu

RATE=${1:-925}
ROUNDS=${2:-2}
N=10000
T=10
WARMUP=3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${WISH_BIN:-$ROOT/bin}

mkdir -p "$ROOT/bench/run"
RUN=$(mktemp -d "$ROOT/bench/run/probe-XXXXXX")
SOCK=$RUN/redis.sock
OUT=$RUN/results.jsonl
: > "$OUT"
REDIS_PID=
WISHD_PID=

cleanup() {
    [ -n "$WISHD_PID" ] && kill "$WISHD_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
    [ -n "$WISHD_PID" ] && wait "$WISHD_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && wait "$REDIS_PID" 2>/dev/null || true
    WISHD_PID=
    REDIS_PID=
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

for prog in wishd wishbench; do
    cp "$BIN/$prog" "$RUN/$prog" || { echo "no $BIN/$prog: make first" >&2; exit 1; }
done
BIN=$RUN
${CC:-cc} -O2 -o "$RUN/sched_canary" "$ROOT/bench/sched_canary.c"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$RUN/secret"
chmod 600 "$RUN/secret"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# phase WAY PREFIX...: a fresh city, the measured phase under PREFIX
# (nothing, or chrt -f 1), the canary beside it; prints its line.
phase() {
    way=$1; shift
    rm -f "$SOCK"
    "$@" redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 \
        --save "" --appendonly no --dir "$RUN" --logfile "$RUN/redis.log" &
    REDIS_PID=$!
    i=0
    until redis-cli -s "$SOCK" ping >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "redis did not start" >&2; exit 1; }
        sleep 0.1
    done
    "$BIN/wishbench" seed --redis-socket "$SOCK" --volunteers "$N" \
        --json --label seed > /dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$@" "$BIN/wishd" --port "$port" --bind 127.0.0.1 --redis-socket "$SOCK" \
        --secret-file "$RUN/secret" --max-clients 20000 --log-level warning \
        --rate-user 0 --rate-addr 0 --max-conns-per-addr 0 \
        --max-unauthed-per-addr 0 --rate-hello 0 --max-open-posts 1000000 \
        >> "$RUN/wishd.log" 2>&1 &
    WISHD_PID=$!
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "wishd did not start" >&2; exit 1; }
        sleep 0.1
    done
    sleep 1
    # the canary from the end of the warm-up to the end of the phase
    (sleep $((WARMUP + 3)); "$RUN/sched_canary" "$RATE" "$((T - 2))" 4 2 \
        > "$RUN/canary") &
    canary=$!
    line=$("$@" "$BIN/wishbench" wishd --redis-socket "$SOCK" --port "$port" \
        --secret-file "$RUN/secret" --connections 8 --pipeline 64 \
        --rate "$RATE" --seconds "$((T + WARMUP))" --warmup "$WARMUP" \
        --seed 23 --agents "$N" --max-sessions 5000 --assign-wait 30 \
        --json --label "probe-$way")
    wait "$canary"
    echo "$line" >> "$OUT"
    cleanup
    python3 - "$way" "$line" "$(cat "$RUN/canary")" \
        "$(cut -d' ' -f1 /proc/loadavg)" <<'EOF'
import json, sys
way, r, c, load = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
print(f"{way:6} load {load:5}  post->assigned p50 / p99 / p99.9 "
      f"{r['asg_p50_ms']:.2f} / {r['asg_p99_ms']:.2f} / {r['asg_p999_ms']:.2f} ms"
      f" ({int(r['assigned'])} of {int(r['ok'])})  canary "
      f"{c['p50_ms']:.2f} / {c['p99_ms']:.2f} / {c['p999_ms']:.2f} ms")
EOF
}

first=1
chrt -f 1 true 2>/dev/null || {
    echo "chrt -f 1 not allowed here: the 'first' phases are skipped" >&2
    first=0
}
echo "open loop at $RATE posts/s, $N volunteers, $(nproc) CPUs"
r=0
while [ $r -lt "$ROUNDS" ]; do
    r=$((r + 1))
    phase shared
    [ $first = 1 ] && phase first chrt -f 1
done
