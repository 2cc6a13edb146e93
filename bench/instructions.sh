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
set -eu

N=${1:-3000}
P=${2:-500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WB=${WISHBENCH:-$ROOT/bin/wishbench}
command -v callgrind_control >/dev/null || {
    echo "bench/instructions.sh: valgrind is not installed" >&2; exit 1; }

D=$(mktemp -d /tmp/mw-instr-XXXXXX)
VP=
cleanup() {
    [ -n "$VP" ] && kill "$VP" 2>/dev/null && wait "$VP" 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

valgrind --tool=callgrind --callgrind-out-file="$D/cg.out" \
    redis-server --port 0 --unixsocket "$D/r.sock" --unixsocketperm 700 \
    --save '' --appendonly no >"$D/redis.log" 2>"$D/valgrind.log" &
VP=$!
i=0
until [ -S "$D/r.sock" ]; do
    i=$((i + 1))
    [ $i -gt 300 ] && { echo "redis under callgrind did not start" >&2; exit 1; }
    sleep 0.1
done

"$WB" seed --redis-socket "$D/r.sock" --volunteers "$N" >/dev/null
"$WB" direct --redis-socket "$D/r.sock" --pipeline 8 --requests 50 \
    --seed 9 --seconds 1000 >/dev/null

# count: LABEL NOUN COMMAND... -- instructions Redis ran for COMMAND,
# divided by the operations it reports (ok= or assigned=).
dumps=0
count() {
    label=$1; noun=$2; shift 2
    callgrind_control -z "$VP" >/dev/null 2>&1
    out=$("$WB" "$@" 2>&1 | tail -1)
    callgrind_control -d "$VP" >/dev/null 2>&1
    dumps=$((dumps + 1))
    total=$(callgrind_annotate "$D/cg.out.$dumps" 2>/dev/null |
            awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
    ops=$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$noun=//p" | head -1)
    [ -n "$ops" ] && [ "$ops" -gt 0 ] || {
        echo "bench/instructions.sh: no $noun in: $out" >&2; exit 1; }
    printf '{"label":"%s","volunteers":%s,"ops":%s,"instructions":%s,' \
        "$label" "$N" "$ops" "$total"
    printf '"instructions_per_op":%s}\n' "$((total / ops))"
}

count instr-post ok direct --redis-socket "$D/r.sock" --pipeline 8 \
    --requests "$P" --seed 3 --seconds 1000
count instr-match tasks quality --redis-socket "$D/r.sock" --tasks "$P" \
    --volunteers "$N" --seed 3
