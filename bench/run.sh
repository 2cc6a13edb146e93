#!/bin/sh
# bench/run.sh quick|full -- microwish's benchmarks, in one go.
#
# Starts its own redis-server (unix socket only, no persistence) and wishd
# (loopback, --log-level warning) under bench/run/<id>/, drives them with
# bin/wishbench, stops them by pid, and writes bench/RESULTS.md (full) or
# bench/RESULTS-quick.md (quick) from the JSON lines wishbench printed.
#
#   quick  about 20 s of measuring: the ceiling (direct vs wishd, same
#          city, interleaved) at 10 k volunteers and Redis CPU per match
#          at 10 k and 40 k.
#   full   the ceiling at 100 k, growth at 10 k / 100 k / 1 M, memory
#          per volunteer and per inbox at 1 M, latency at half the peak.
#
# Environment: WISH_BIN (default ./bin), BENCH_SECONDS (seconds per
# measured phase; default 3 quick, 10 full).
set -eu

MODE=${1:-quick}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${WISH_BIN:-$ROOT/bin}
case $MODE in
quick) T=${BENCH_SECONDS:-3}; SIZES="10000 40000"; CEIL_N=10000
       REPORT=$ROOT/bench/RESULTS-quick.md ;;
full)  T=${BENCH_SECONDS:-10}; SIZES="10000 100000 1000000"; CEIL_N=100000
       REPORT=$ROOT/bench/RESULTS.md ;;
*) echo "usage: bench/run.sh quick|full" >&2; exit 2 ;;
esac

mkdir -p "$ROOT/bench/run"
RUN=$(mktemp -d "$ROOT/bench/run/$MODE-XXXXXX")
SOCK=$RUN/redis.sock
OUT=$RUN/results.jsonl
CMDS=$RUN/commands
: > "$OUT"
: > "$CMDS"
REDIS_PID=
WISHD_PID=
WISHD_PORT=

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

# Private copies: other people rebuilding bin/ must not change a run.
for prog in wishd wishbench; do
    cp "$BIN/$prog" "$RUN/$prog" || { echo "no $BIN/$prog: make first" >&2; exit 1; }
done
BIN=$RUN

head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$RUN/secret"
chmod 600 "$RUN/secret"

cat > "$RUN/redis.conf" <<EOF
port 0
unixsocket $SOCK
unixsocketperm 700
save ""
appendonly no
dir $RUN
logfile $RUN/redis.log
maxmemory 0
EOF

start_redis() {
    rm -f "$SOCK"
    redis-server "$RUN/redis.conf" &
    REDIS_PID=$!
    i=0
    until redis-cli -s "$SOCK" ping >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "redis did not start" >&2; exit 1; }
        sleep 0.1
    done
}

stop_redis() {
    kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=
}

# A benchmark measures the engine, not the per-user rate limit: one
# coordinator posts everything from one address. Turned off when this
# wishd has it.
WISHD_EXTRA=
start_wishd() {
    if "$BIN/wishd" --help 2>&1 | grep -q -- --rate-user; then
        WISHD_EXTRA="--rate-user 0 --rate-addr 0"
    fi
    WISHD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$BIN/wishd" --port "$WISHD_PORT" --bind 127.0.0.1 \
        --redis-socket "$SOCK" --secret-file "$RUN/secret" \
        --log-level warning $WISHD_EXTRA >> "$RUN/wishd.log" 2>&1 &
    WISHD_PID=$!
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1',$WISHD_PORT),1)" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "wishd did not start" >&2; exit 1; }
        sleep 0.1
    done
    sleep 1 # wishd gives its Redis link up to a second
}

stop_wishd() {
    kill "$WISHD_PID"; wait "$WISHD_PID" 2>/dev/null || true; WISHD_PID=
}

# wb LABEL ARGS...: runs wishbench with --json, keeps its line.
wb() {
    label=$1; shift
    echo "wishbench $* --label $label" >> "$CMDS"
    "$BIN/wishbench" "$@" --json --label "$label" | tee -a "$OUT"
}

# A fresh city of $1 volunteers.
fresh_city() {
    [ -n "$WISHD_PID" ] && stop_wishd
    [ -n "$REDIS_PID" ] && stop_redis
    start_redis
    wb "seed-$1" seed --redis-socket "$SOCK" --volunteers "$1"
    start_wishd
}

DIRECT="--redis-socket $SOCK --pipeline 32"
via_wishd() {
    echo "--redis-socket $SOCK --port $WISHD_PORT --secret-file $RUN/secret"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "== $MODE run in $RUN"

# 1. Ceiling: direct vs wishd, same city, interleaved twice.
echo "== ceiling at $CEIL_N volunteers"
fresh_city "$CEIL_N"
for round in 1 2; do
    wb "ceil-direct-$round" direct $DIRECT --seconds "$T" --seed "$round"
    wb "ceil-wishd-$round" wishd $(via_wishd) --connections 8 \
        --pipeline 4 --seconds "$T" --seed "$((round + 10))"
done

# 2. Growth: Redis CPU per match and matches/s at each size.
for n in $SIZES; do
    echo "== growth at $n volunteers"
    if [ "$n" != "$CEIL_N" ]; then fresh_city "$n"; fi
    wb "grow-direct-$n" direct $DIRECT --seconds "$T" --seed 21
    wb "grow-wishd-$n" wishd $(via_wishd) --connections 8 --pipeline 4 \
        --seconds "$T" --seed 22
    if [ "$MODE" = full ] && [ "$n" = 1000000 ]; then
        # 3. Memory at 1 M; then latency at half the peak.
        wb "memory-$n" memory --redis-socket "$SOCK"
        peak=$(grep '"label":"grow-wishd-'"$n"'"' "$OUT" | python3 -c \
               'import json,sys; print(int(json.loads(sys.stdin.readline())["per_s"]))')
        half=$((peak / 2))
        wb "half-peak-$n" wishd $(via_wishd) --connections 8 --pipeline 64 \
            --rate "$half" --seconds "$T" --seed 23
    fi
done
cleanup
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)

python3 "$ROOT/bench/report.py" --mode "$MODE" --results "$OUT" \
    --commands "$CMDS" --start "$START" --end "$END" \
    --redis "$(redis-server --version)" > "$REPORT"
echo "== wrote $REPORT (raw lines: $OUT)"
