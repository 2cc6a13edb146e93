#!/bin/sh
# bench/instructions.sh [VOLUNTEERS] [TASKS] -- instructions Redis runs per
# match, counted by callgrind.
#
# Seconds on a shared 2-core machine vary by a factor of two from one run
# to the next; instruction counts do not: the same binaries and inputs
# give the same count whatever else runs. This is how a change to the
# Lua library is judged (`WISHBENCH=/old/bin/wishbench` measures another
# build's library the same way: wishbench carries the library it loads).
#
# Starts redis-server under callgrind (unix socket in a temp dir), seeds a
# city of VOLUNTEERS (default 3 000), posts 50 tasks to warm it, then:
#   instr-post   TASKS (default 500) `wish_task_post` FCALLs, 8 in flight
#   instr-match  TASKS posts each followed by the accept of its first offer
#                (wishbench quality: post, offer.accept, one by one)
# and prints one JSON line each: instructions per post / per post+accept.
# Needs valgrind (callgrind_control, callgrind_annotate).
#
# A large city is seeded outside callgrind: seeding a million volunteers
# under it would take hours. INSTR_SEED picks how:
#   callgrind  (the default up to 100 000 volunteers) as always: seeded
#              through the Redis under callgrind
#   rdb        (the default above) a plain redis-server is seeded by
#              `wishbench seed` (the library is loaded with it), saved
#              with SAVE to an RDB in the temp dir and stopped; the
#              callgrind Redis starts on that RDB with instrumentation off
#              (--instr-atstart=no: the load costs no counting) and turns
#              it on once it answers PING. An RDB holds the Functions
#              library, so the calls meet the same library. Nothing
#              measured differs: the counts are taken after
#              callgrind_control -z as before.
# Loading 1 M volunteers under callgrind takes minutes (LOAD_WAIT seconds
# at most, default 3600).
#
# INSTR_DETAIL=DIR keeps what a breakdown needs, per phase: the callgrind
# dump (DIR/<label>.cg), `callgrind_annotate --inclusive=yes` of it
# (DIR/<label>.incl), the Redis commands the phase ran (INFO commandstats
# after CONFIG RESETSTAT: DIR/<label>.cmdstats), wishbench's own line
# (DIR/<label>.out); and the seed's line (DIR/seed.out: bytes per
# volunteer) and INFO memory after the seed (DIR/seed.memory). The JSON
# lines on stdout stay the same.
set -eu

N=${1:-3000}
P=${2:-500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WB=${WISHBENCH:-$ROOT/bin/wishbench}
DETAIL=${INSTR_DETAIL:-}
MODE=${INSTR_SEED:-}
[ -n "$MODE" ] || { [ "$N" -le 100000 ] && MODE=callgrind || MODE=rdb; }
case $MODE in callgrind|rdb) ;; *)
    echo "bench/instructions.sh: INSTR_SEED is callgrind or rdb" >&2; exit 2 ;;
esac
command -v callgrind_control >/dev/null || {
    echo "bench/instructions.sh: valgrind is not installed" >&2; exit 1; }
[ -z "$DETAIL" ] || mkdir -p "$DETAIL"

D=$(mktemp -d /tmp/mw-instr-XXXXXX)
VP=
SP=
cleanup() {
    [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
    [ -n "$VP" ] && kill "$VP" 2>/dev/null && wait "$VP" 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# up SOCKET TENTHS: waits until the Redis on SOCKET answers PONG (not
# LOADING), at most TENTHS tenths of a second.
up() {
    i=0
    until [ "$(redis-cli -s "$1" ping 2>/dev/null)" = PONG ]; do
        i=$((i + 1))
        [ $i -gt "$2" ] && { echo "redis on $1 did not come up" >&2; exit 1; }
        sleep 0.1
    done
}

seed_out=/dev/null
[ -z "$DETAIL" ] || seed_out=$DETAIL/seed.out
if [ "$MODE" = rdb ]; then
    redis-server --port 0 --unixsocket "$D/s.sock" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$D" --dbfilename city.rdb \
        >"$D/seed-redis.log" 2>&1 &
    SP=$!
    up "$D/s.sock" 300
    "$WB" seed --redis-socket "$D/s.sock" --volunteers "$N" --json \
        >"$seed_out"
    [ -z "$DETAIL" ] || redis-cli -s "$D/s.sock" info memory \
        >"$DETAIL/seed.memory"
    redis-cli -s "$D/s.sock" save >/dev/null
    kill "$SP"; wait "$SP" 2>/dev/null || true; SP=
    valgrind --tool=callgrind --callgrind-out-file="$D/cg.out" \
        --instr-atstart=no \
        redis-server --port 0 --unixsocket "$D/r.sock" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$D" --dbfilename city.rdb \
        >"$D/redis.log" 2>"$D/valgrind.log" &
    VP=$!
    up "$D/r.sock" $((${LOAD_WAIT:-3600} * 10))
    callgrind_control -i on "$VP" >/dev/null 2>&1
else
    valgrind --tool=callgrind --callgrind-out-file="$D/cg.out" \
        redis-server --port 0 --unixsocket "$D/r.sock" --unixsocketperm 700 \
        --save '' --appendonly no >"$D/redis.log" 2>"$D/valgrind.log" &
    VP=$!
    up "$D/r.sock" 300
    "$WB" seed --redis-socket "$D/r.sock" --volunteers "$N" --json \
        >"$seed_out"
    [ -z "$DETAIL" ] || redis-cli -s "$D/r.sock" info memory \
        >"$DETAIL/seed.memory"
fi
"$WB" direct --redis-socket "$D/r.sock" --pipeline 8 --requests 50 \
    --seed 9 --seconds 1000 >/dev/null

# count: LABEL NOUN COMMAND... -- instructions Redis ran for COMMAND,
# divided by the operations it reports (ok= or assigned=).
dumps=0
count() {
    label=$1; noun=$2; shift 2
    [ -z "$DETAIL" ] || redis-cli -s "$D/r.sock" config resetstat >/dev/null
    callgrind_control -z "$VP" >/dev/null 2>&1
    out=$("$WB" "$@" 2>&1 | tail -1)
    callgrind_control -d "$VP" >/dev/null 2>&1
    dumps=$((dumps + 1))
    total=$(callgrind_annotate "$D/cg.out.$dumps" 2>/dev/null |
            awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
    ops=$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$noun=//p" | head -1)
    [ -n "$ops" ] && [ "$ops" -gt 0 ] || {
        echo "bench/instructions.sh: no $noun in: $out" >&2; exit 1; }
    if [ -n "$DETAIL" ]; then
        redis-cli -s "$D/r.sock" info commandstats >"$DETAIL/$label.cmdstats"
        printf '%s\n' "$out" >"$DETAIL/$label.out"
        cp "$D/cg.out.$dumps" "$DETAIL/$label.cg"
        callgrind_annotate --inclusive=yes --threshold=99.9 \
            "$DETAIL/$label.cg" >"$DETAIL/$label.incl" 2>/dev/null || true
    fi
    printf '{"label":"%s","volunteers":%s,"ops":%s,"instructions":%s,' \
        "$label" "$N" "$ops" "$total"
    printf '"instructions_per_op":%s}\n' "$((total / ops))"
}

count instr-post ok direct --redis-socket "$D/r.sock" --pipeline 8 \
    --requests "$P" --seed 3 --seconds 1000
count instr-match tasks quality --redis-socket "$D/r.sock" --tasks "$P" \
    --volunteers "$N" --seed 3
