#!/bin/sh
# bench/memory_keys.sh [VOLUNTEERS] -- what a seeded volunteer costs Redis,
# key by key (issue 19: <= 300 bytes a volunteer at 1 M).
#
# Starts a private redis-server (unix socket in a temp dir, no
# persistence), seeds VOLUNTEERS (default 1 000 000) with `wishbench
# seed` (WISHBENCH: another build's), then prints:
#   - wishbench's line (bytes_per_volunteer: used_memory delta / N)
#   - used_memory, used_memory_dataset, the keyspace
#   - per kind of key: how many, and MEMORY USAGE (SAMPLES 0: exact) --
#     every city-wide key (GEO sets, density hashes), and 2 000 sampled
#     profiles ({city}:user:<id>), scaled to all
# Takes about as long as the seed (minutes at 1 M on a busy machine).
set -eu

N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WB=${WISHBENCH:-$ROOT/bin/wishbench}
D=$(mktemp -d /tmp/mw-mem-XXXXXX)
RP=
cleanup() {
    [ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

redis-server --port 0 --unixsocket "$D/r.sock" --unixsocketperm 700 \
    --save '' --appendonly no >"$D/redis.log" 2>&1 &
RP=$!
i=0
until [ "$(redis-cli -s "$D/r.sock" ping 2>/dev/null)" = PONG ]; do
    i=$((i + 1))
    [ $i -gt 300 ] && { echo "redis did not start" >&2; exit 1; }
    sleep 0.1
done
R="redis-cli -s $D/r.sock"

"$WB" seed --redis-socket "$D/r.sock" --volunteers "$N"
$R info memory | grep -E '^used_memory:|^used_memory_dataset:|^used_memory_overhead:'
$R info keyspace | grep '^db'

echo "kind keys bytes bytes_per_volunteer"
total=0
for k in $($R --scan --pattern '{jinan}:geo:vol:*') \
         $($R --scan --pattern '{jinan}:dens:*'); do
    b=$($R memory usage "$k" samples 0)
    n=$($R type "$k")
    case $n in zset) m=$($R zcard "$k") ;; *) m=$($R hlen "$k") ;; esac
    echo "$k entries=$m bytes=$b"
    total=$((total + b))
done
echo "city-wide keys: $total bytes, $((total / N)) a volunteer"
s=0; c=0; step=$((N / 2000 + 1)); v=0
while [ $v -lt "$N" ]; do
    b=$($R memory usage "{jinan}:user:v$v" samples 0)
    s=$((s + b)); c=$((c + 1)); v=$((v + step))
done
echo "profiles: $c sampled, $((s / c)) bytes each (MEMORY USAGE: key, value, dict entry)"
