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
#          at 10 k and 40 k; then 8. (the crowd) and 9. (log-ins at the
#          default KDF cost and a cheap one, about 10 s); 10. WebSocket
#          beside TCP (ping and post round trips, 2 s each, and 2 000
#          idle sessions each way); 11. the web apps' first load (5 cold
#          loads a page).
#   full   the ceiling at 100 k; growth at 10 k / 100 k / 1 M (direct,
#          and through wishd with volunteer agents accepting every offer:
#          matches/s and post-to-`assigned` latency); latency at half the
#          peak (open loop) at 10 k and 1 M; memory per volunteer and per
#          inbox at 1 M; 4. mobilisation (240 k volunteers, 100 k tasks,
#          then `wishbench check`, the library's wish_check); 5. quality
#          (1 000 tasks vs the optimum); 6. 10 000 idle sessions (wishd
#          memory each); 7. instructions Redis runs per post and per post
#          + accept
#          (bench/instructions.sh, callgrind); 8. ping p99 quiet vs under
#          1 000 connections sending random bytes (wishbench crowd);
#          9. log-ins/s at three argon2id costs (default 19 456 KiB t=2,
#          65 536 KiB t=3, 1 024 KiB t=1) and what one hash costs a
#          guesser vs SHA-256 (wishbench logins, under 40 s);
#          10. WebSocket beside TCP: closed-loop round trips of ping and
#          of task.post, one call in flight, the two transports
#          interleaved on one wishd (wishbench rtt), and wishd's memory
#          per idle session over each (wishbench idle, 10 000 each, a
#          fresh wishd for each); 11. the web apps' first load in
#          Chromium: the volunteer's and the resident's page, 10 cold
#          loads each, until their data is on screen (bench/web.mjs;
#          skipped without chromium or the build); 12. Redis Cluster:
#          direct matches on one master holding every slot against two
#          masters with the slots halved, 8 cities spread 4 and 4,
#          interleaved twice (wishbench cluster, about a minute).
#          13. issue 19's timed targets (as in i19 below; the growth's
#          10 k figures and mobilisation are the now side).
#   cluster  12. alone, into bench/RESULTS-cluster.md (make bench-cluster).
#   i19    issue 19's four timed targets, each measured on this build and
#          on the issue's base build (BENCH_BASE) in the same run, into
#          bench/RESULTS-i19.md (make bench-i19): the base's wishd and
#          wishbench are built from `git archive $BENCH_BASE` under the
#          run's directory (removed after); then direct matches/s of the
#          two libraries on two Redis servers, the same seeded city on
#          each, `wishbench direct` runs alternating base, now, base,
#          now ... (I19_ROUNDS each, I19_REQUESTS posts a run, at each of
#          I19_SIZES volunteers; below 1 M both cities are seeded afresh
#          each round), whose medians give the speed-up and the FCALL
#          time at 1 M over 10 k; post->assigned p99 at half of each
#          build's own peak (10 k volunteers, agents accepting); and the
#          mobilisation (MOBILISE_TASKS tasks over MOBILISE_VOLUNTEERS
#          volunteers; the target's 100 000 / 240 000 by default, a
#          smaller one is labelled as such in the report), base first.
#          Without the base commit in git, or if it does not build, the
#          before figures are skipped and the report says why.
#
# The wishd phases of growth run agents (wishbench --agents): v0..v9999
# hold sessions from the start; other volunteers connect on their first
# offer.
#
# Environment: WISH_BIN (default ./bin), BENCH_SECONDS (seconds per
# measured phase; default 3 quick, 10 full and i19); for full and i19:
# BENCH_BASE (the issue 19 base commit, default 0248887; empty: none),
# I19_SIZES ("10000 1000000"), I19_ROUNDS (3), I19_REQUESTS (20000),
# MOBILISE_VOLUNTEERS (240000), MOBILISE_TASKS (100000). Phases through
# wishd with agents run WARMUP (3) seconds longer: 10 000 sessions start
# at once and wishd replays their inboxes, so latencies of posts due in
# those first seconds are left out (wishbench --warmup).
set -eu

MODE=${1:-quick}
WARMUP=3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${WISH_BIN:-$ROOT/bin}
case $MODE in
quick) T=${BENCH_SECONDS:-3}; SIZES="10000 40000"; CEIL_N=10000
       REPORT=$ROOT/bench/RESULTS-quick.md ;;
full)  T=${BENCH_SECONDS:-10}; SIZES="100000 10000 1000000"; CEIL_N=100000
       REPORT=$ROOT/bench/RESULTS.md ;;
mobilise) T=10; SIZES=""; CEIL_N=0
       REPORT=$ROOT/bench/RESULTS-mobilise.md ;;
cluster) T=0; SIZES=""; CEIL_N=0
       REPORT=$ROOT/bench/RESULTS-cluster.md ;;
i19)   T=${BENCH_SECONDS:-10}; SIZES=""; CEIL_N=0
       REPORT=$ROOT/bench/RESULTS-i19.md ;;
*) echo "usage: bench/run.sh quick|full|mobilise|cluster|i19" >&2; exit 2 ;;
esac
BASE=${BENCH_BASE-0248887}
I19_SIZES=${I19_SIZES:-10000 1000000}
I19_ROUNDS=${I19_ROUNDS:-3}
I19_REQUESTS=${I19_REQUESTS:-20000}
MOB_VOLS=${MOBILISE_VOLUNTEERS:-240000}
MOB_TASKS=${MOBILISE_TASKS:-100000}

mkdir -p "$ROOT/bench/run"
RUN=$(mktemp -d "$ROOT/bench/run/$MODE-XXXXXX")
SOCK=$RUN/redis.sock
OUT=$RUN/results.jsonl
CMDS=$RUN/commands
NOTES=$RUN/notes
: > "$OUT"
: > "$CMDS"
: > "$NOTES"
REDIS_PID=
WISHD_PID=
WISHD_PORT=
CLUSTER_PIDS=
AUX_PIDS=
SEED_PIDS=
CUR=

cleanup() {
    [ -n "$WISHD_PID" ] && kill "$WISHD_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
    for pid in $CLUSTER_PIDS $AUX_PIDS $SEED_PIDS; do
        kill "$pid" 2>/dev/null || true
    done
    [ -n "$WISHD_PID" ] && wait "$WISHD_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && wait "$REDIS_PID" 2>/dev/null || true
    for pid in $CLUSTER_PIDS $AUX_PIDS $SEED_PIDS; do
        wait "$pid" 2>/dev/null || true
    done
    WISHD_PID=
    REDIS_PID=
    CLUSTER_PIDS=
    AUX_PIDS=
    SEED_PIDS=
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# Private copies: other people rebuilding bin/ must not change a run.
for prog in wishd wishbench; do
    cp "$BIN/$prog" "$RUN/$prog" || { echo "no $BIN/$prog: make first" >&2; exit 1; }
done
BIN=$RUN
# The build that wb and start_wishd run (use_build now|base).
WB_EXE=$BIN/wishbench
WISHD_EXE=$BIN/wishd
# The base's are base-wishbench and base-wishd (build_base).
use_build() {
    case $1 in
    now)  WB_EXE=$RUN/wishbench; WISHD_EXE=$RUN/wishd ;;
    base) WB_EXE=$RUN/base-wishbench; WISHD_EXE=$RUN/base-wishd ;;
    esac
}

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

# wait_redis SOCKET NAME: until the Redis on SOCKET answers (10 s at
# most, then the run stops: "redis NAME did not start").
wait_redis() {
    i=0
    until redis-cli -s "$1" ping >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "redis $2 did not start" >&2; exit 1; }
        sleep 0.1
    done
}

start_redis() {
    rm -f "$SOCK"
    redis-server "$RUN/redis.conf" &
    REDIS_PID=$!
    wait_redis "$SOCK" main
}

stop_redis() {
    kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=
}

# A benchmark measures the engine, not the limits that protect it from
# one user or one host: one coordinator posts everything from one
# address, and thousands of agents and idle sessions connect from
# loopback. Those limits are turned off when this wishd has them.
WISHD_EXTRA=
# start_wishd [FLAG...]: the flags go to wishd after the usual ones.
start_wishd() {
    WISHD_EXTRA=
    for opt in "rate-user 0" "rate-addr 0" "max-conns-per-addr 0" \
               "max-unauthed-per-addr 0" "rate-hello 0" \
               "max-open-posts 1000000"; do
        if "$WISHD_EXE" --help 2>&1 | grep -q -- "--${opt%% *} "; then
            WISHD_EXTRA="$WISHD_EXTRA --$opt"
        fi
    done
    WISHD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # 10 000 agents' sessions or idle clients at once: room for them
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    "$WISHD_EXE" --port "$WISHD_PORT" --bind 127.0.0.1 \
        --redis-socket "$SOCK" --secret-file "$RUN/secret" \
        --max-clients 20000 \
        --log-level warning $WISHD_EXTRA "$@" >> "$RUN/wishd.log" 2>&1 &
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
    echo "${WB_EXE##*/} $* --label $label" >> "$CMDS"
    "$WB_EXE" "$@" --json --label "$label" | tee -a "$OUT"
}

# A fresh city of $1 volunteers (label suffix $2, default $1).
fresh_city() {
    [ -n "$WISHD_PID" ] && stop_wishd
    [ -n "$REDIS_PID" ] && stop_redis
    start_redis
    CUR=$1
    wb "seed-${2:-$1}" seed --redis-socket "$SOCK" --volunteers "$1"
    start_wishd
}

# A closed-loop phase with agents assigns some 20 000 tasks: most of a
# 10 k city's volunteers are then busy (max_active, clashes) and the next
# phase would measure a city with nobody free. Below 1 M volunteers the
# next phase gets a fresh city ($1: size, $2: label suffix); a 1 M city
# has room, and takes minutes to seed.
busy_city() {
    if [ "$1" -lt 1000000 ]; then fresh_city "$1" "$1-$2"; fi
}

# The peak matches/s a phase measured (matches_per_s, else per_s).
peak_of() {
    grep '"label":"'"$1"'"' "$OUT" | python3 -c \
        'import json,sys; r=json.loads(sys.stdin.readline()); print(int(r.get("matches_per_s") or r["per_s"]))'
}

DIRECT="--redis-socket $SOCK --pipeline 32"
via_wishd() {
    echo "--redis-socket $SOCK --port $WISHD_PORT --secret-file $RUN/secret"
}

# start_cluster M: M redis-server masters on 127.0.0.1 (cluster mode, no
# persistence, no replicas: the benchmark measures matching, not
# failover), the 16384 slots split into M equal ranges (node i takes
# i*16384/M .. (i+1)*16384/M-1) with CLUSTER ADDSLOTSRANGE, joined by
# CLUSTER MEET; returns once every node says cluster_state:ok and knows
# the others. redis-cli --cluster create wants 3 masters at least, so
# the cluster is built by hand. Ports: below 55536 with port + 10000
# (the cluster bus) free too. Sets CLUSTER_PORTS and CLUSTER_PIDS.
start_cluster() {
    CLUSTER_PORTS=$(python3 -c '
import socket, sys
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
ports = []
while len(ports) < int(sys.argv[1]):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    if p < 55536 and p not in ports and free(p + 10000):
        ports.append(p)
print(" ".join(map(str, ports)))' "$1")
    for port in $CLUSTER_PORTS; do
        d=$RUN/cluster-$1m-$port
        mkdir -p "$d"
        cat > "$d/redis.conf" <<EOF
port $port
bind 127.0.0.1
dir $d
logfile $d/redis.log
save ""
appendonly no
cluster-enabled yes
cluster-config-file nodes.conf
maxmemory 0
EOF
        # Each master in a session of its own, as each runs as a service
        # of its own in a deployment: with the kernel's autogroup
        # scheduling (kernel.sched_autogroup_enabled, on here) the
        # processes of one session share one slice of the CPU among the
        # busy sessions, so two masters in the bench's session would get
        # no more CPU than one on a machine others are using.
        # (No job control in sh: the job is no group leader, so setsid
        # needs no fork and $! is the server's pid.)
        setsid redis-server "$d/redis.conf" &
        CLUSTER_PIDS="$CLUSTER_PIDS $!"
    done
    i=0
    for port in $CLUSTER_PORTS; do
        n=0
        until redis-cli -p "$port" ping >/dev/null 2>&1; do
            n=$((n + 1))
            [ $n -gt 100 ] && { echo "cluster node $port did not start" >&2; exit 1; }
            sleep 0.1
        done
        redis-cli -p "$port" cluster addslotsrange \
            $((i * 16384 / $1)) $(((i + 1) * 16384 / $1 - 1)) >/dev/null
        i=$((i + 1))
    done
    first=${CLUSTER_PORTS%% *}
    for port in $CLUSTER_PORTS; do
        [ "$port" = "$first" ] ||
            redis-cli -p "$first" cluster meet 127.0.0.1 "$port" >/dev/null
    done
    n=0
    for port in $CLUSTER_PORTS; do
        until redis-cli -p "$port" cluster info 2>/dev/null |
                  grep -q "^cluster_state:ok" &&
              redis-cli -p "$port" cluster info 2>/dev/null |
                  grep -q "^cluster_known_nodes:$1"; do
            n=$((n + 1))
            [ $n -gt 300 ] && { echo "cluster of $1 did not become ok" >&2; exit 1; }
            sleep 0.1
        done
    done
}

stop_cluster() {
    for pid in $CLUSTER_PIDS; do kill "$pid" 2>/dev/null || true; done
    for pid in $CLUSTER_PIDS; do wait "$pid" 2>/dev/null || true; done
    CLUSTER_PIDS=
}

# build_base: the issue 19 base's wishd and wishbench (each carries the
# library of its commit) as $RUN/base-wishd and $RUN/base-wishbench,
# built from `git archive $BASE` in $RUN/base-src, which is removed
# after. Sets BASE_OK=1 if built; otherwise says why in $NOTES and the
# run goes on without the before figures. The make is not the caller's
# (make bench-i19's jobserver and flags are not passed on).
BASE_OK=
build_base() {
    if [ -z "$BASE" ]; then
        echo "base: none (BENCH_BASE is empty): no before figures" >> "$NOTES"
        return 0
    fi
    if ! git -C "$ROOT" rev-parse -q --verify "$BASE^{commit}" >/dev/null 2>&1; then
        echo "base: commit $BASE is not in this checkout's git history: before figures skipped" >> "$NOTES"
        return 0
    fi
    echo "== building the base $BASE (log: $RUN/base-build.log)"
    src=$RUN/base-src
    b0=$(date +%s)
    mkdir -p "$src"
    if git -C "$ROOT" archive "$BASE" | tar -x -C "$src" &&
       (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
            make -j2 bin/wishd bin/wishbench) > "$RUN/base-build.log" 2>&1 &&
       cp "$src/bin/wishd" "$RUN/base-wishd" &&
       cp "$src/bin/wishbench" "$RUN/base-wishbench"; then
        BASE_OK=1
        echo "base: commit $(git -C "$ROOT" rev-parse --short "$BASE") (git archive, make bin/wishd bin/wishbench: $(($(date +%s) - b0)) s)" >> "$NOTES"
    else
        echo "base: commit $BASE did not build (tail of base-build.log: $(tail -n 1 "$RUN/base-build.log" 2>/dev/null)): before figures skipped" >> "$NOTES"
    fi
    rm -rf "$src"
}

# start_aux_redis NAME: one more redis-server like the main one, on
# $RUN/NAME.sock; its pid joins AUX_PIDS (stop_aux_redis stops them all).
start_aux_redis() {
    sed -e "s|^unixsocket .*|unixsocket $RUN/$1.sock|" \
        -e "s|^logfile .*|logfile $RUN/$1.log|" "$RUN/redis.conf" > "$RUN/$1.conf"
    rm -f "$RUN/$1.sock"
    redis-server "$RUN/$1.conf" &
    AUX_PIDS="$AUX_PIDS $!"
    wait_redis "$RUN/$1.sock" "$1"
}

stop_aux_redis() {
    for pid in $AUX_PIDS; do kill "$pid" 2>/dev/null || true; done
    for pid in $AUX_PIDS; do wait "$pid" 2>/dev/null || true; done
    AUX_PIDS=
}

# seed_both N ROUND: the same city of N volunteers seeded on the base's
# Redis by the base's wishbench and on the other by this build's, both
# at once (nothing is timed meanwhile but the seeds themselves); only
# this build's without a base (I19_BUILDS).
seed_both() {
    SEED_PIDS=
    for b in $I19_BUILDS; do
        use_build "$b"
        redis-cli -s "$RUN/$b-$1.sock" flushall >/dev/null
        echo "${WB_EXE##*/} seed --redis-socket $RUN/$b-$1.sock --volunteers $1 --label i19-seed-$b-$1-$2" >> "$CMDS"
        "$WB_EXE" seed --redis-socket "$RUN/$b-$1.sock" --volunteers "$1" \
            --json --label "i19-seed-$b-$1-$2" > "$RUN/i19-seed-$b.json" &
        SEED_PIDS="$SEED_PIDS $!"
    done
    for pid in $SEED_PIDS; do wait "$pid"; done
    SEED_PIDS=
    for b in $I19_BUILDS; do cat "$RUN/i19-seed-$b.json"; done | tee -a "$OUT"
}

# i19_direct N: direct matches/s, the base's library against this
# build's, at N volunteers: two Redis servers, the same city on each,
# I19_ROUNDS rounds of `wishbench direct` (I19_REQUESTS posts, the same
# tasks for both builds in a round), base then now each round. Below
# 1 M volunteers both cities are seeded afresh before each round (a
# 10 k city is soon busy with offers nobody accepts); a 1 M city has
# room and is seeded once.
i19_direct() {
    echo "== issue 19: direct, base against now, at $1 volunteers"
    for b in $I19_BUILDS; do start_aux_redis "$b-$1"; done
    round=1
    while [ "$round" -le "$I19_ROUNDS" ]; do
        if [ "$round" = 1 ] || [ "$1" -lt 1000000 ]; then
            seed_both "$1" "$round"
        fi
        for b in $I19_BUILDS; do
            use_build "$b"
            wb "i19-direct-$b-$1-$round" direct \
                --redis-socket "$RUN/$b-$1.sock" --pipeline 32 \
                --requests "$I19_REQUESTS" --seconds 600 \
                --seed "$((40 + round))"
        done
        round=$((round + 1))
    done
    stop_aux_redis
    use_build now
}

# peak_and_half PREFIX: on fresh 10 k cities, the closed-loop peak with
# agents accepting (PREFIXgrow-wishd-10000), then post->`assigned`
# latency in open loop at half that peak (PREFIXhalf-peak-10000).
peak_and_half() {
    fresh_city 10000 "${1}10000"
    wb "${1}grow-wishd-10000" wishd $(via_wishd) --connections 8 \
        --pipeline 4 --seconds "$((T + WARMUP))" --warmup "$WARMUP" \
        --seed 22 $AGENTS --assign-wait 30
    half=$(( $(peak_of "${1}grow-wishd-10000") / 2 ))
    [ "$half" -lt 1 ] && half=1
    fresh_city 10000 "${1}10000-half"
    wb "${1}half-peak-10000" wishd $(via_wishd) --connections 8 \
        --pipeline 64 --rate "$half" --seconds "$((T + WARMUP))" \
        --warmup "$WARMUP" --seed 23 $AGENTS --assign-wait 30
}

# mobilise PREFIX: 4. MOB_TASKS tasks as fast as they come over a fresh
# city of MOB_VOLS volunteers (closed loop, 8 x 4 in flight; UNAVAILABLE
# answers are posted again), then `wishbench check`. Sessions: 10 000
# held + 5 000 on demand, within wishd's descriptors.
mobilise() {
    echo "== ${1}mobilisation: $MOB_TASKS tasks, $MOB_VOLS volunteers"
    fresh_city "$MOB_VOLS" "${1}mobilise-$MOB_VOLS"
    wb "${1}mobilise" wishd $(via_wishd) --connections 8 --pipeline 4 \
        --requests "$MOB_TASKS" --seconds 1800 --seed 31 --agents 10000 \
        --max-sessions 5000 --assign-wait 120
    wb "${1}mobilise-check" check --redis-socket "$SOCK"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "== $MODE run in $RUN"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) at the start" >> "$NOTES"
if [ "$MODE" = full ] || [ "$MODE" = i19 ]; then build_base; fi

# 1. Ceiling: direct vs wishd, same city, interleaved twice.
[ "$CEIL_N" -gt 0 ] && echo "== ceiling at $CEIL_N volunteers" &&
    fresh_city "$CEIL_N" ceiling
[ "$CEIL_N" -gt 0 ] && for round in 1 2; do
    wb "ceil-direct-$round" direct $DIRECT --seconds "$T" --seed "$round"
    wb "ceil-wishd-$round" wishd $(via_wishd) --connections 8 \
        --pipeline 4 --seconds "$T" --seed "$((round + 10))"
done

# 2. Growth: Redis CPU per match (direct) and matches/s with agents
# accepting (through wishd) at each size. Each size is a fresh city, and
# the phases with agents come first: tasks nobody accepts (the direct
# and ceiling posts) have their offers lapse a minute later, and that
# re-matching would otherwise run under the phases measured after them.
AGENTS="--agents 10000 --max-sessions 5000"
for n in $SIZES; do
    echo "== growth at $n volunteers"
    fresh_city "$n"
    wb "grow-wishd-$n" wishd $(via_wishd) --connections 8 --pipeline 4 \
        --seconds "$((T + WARMUP))" --warmup "$WARMUP" --seed 22 $AGENTS \
        --assign-wait 30
    if [ "$MODE" = full ] && { [ "$n" = 10000 ] || [ "$n" = 1000000 ]; }; then
        # latency at half the peak, open loop, post -> `assigned`
        half=$(( $(peak_of "grow-wishd-$n") / 2 ))
        [ "$half" -lt 1 ] && half=1
        busy_city "$n" half
        wb "half-peak-$n" wishd $(via_wishd) --connections 8 --pipeline 64 \
            --rate "$half" --seconds "$((T + WARMUP))" --warmup "$WARMUP" \
            --seed 23 $AGENTS --assign-wait 30
    fi
    busy_city "$n" direct
    wb "grow-direct-$n" direct $DIRECT --seconds "$T" --seed 21
    if [ "$MODE" = full ] && [ "$n" = 1000000 ]; then
        # 3. Memory at 1 M; inboxes as the direct posts left them (an
        # offer each, unread: nobody accepts them)
        wb "memory-$n" memory --redis-socket "$SOCK"
    fi
done

if [ "$MODE" = quick ] || [ "$MODE" = full ]; then
    # 8. Crowd: a client's ping round trips, quiet and while 1 000
    # connections from one address send random bytes (and are cut, and
    # connect again), in alternating blocks; per-address limits and
    # hello-timeout off so that the crowd reaches wishd. The store is not
    # used: ping needs none.
    echo "== crowd"
    [ -n "$WISHD_PID" ] && stop_wishd
    [ -z "$REDIS_PID" ] && start_redis
    start_wishd --max-conns-per-addr 0 --max-unauthed-per-addr 0 \
        --authed-reserve 0 --hello-timeout 3600
    wb crowd-1000 crowd --port "$WISHD_PORT" --connections 1000 \
        --seconds "$T"
    stop_wishd

    # 9. Log-ins: each KDF cost on a wishd of its own (the same Redis;
    # user ids unique per run), accounts made by invite and sign-up,
    # then auth.login closed loop, 4 connections x 2 in flight: both
    # KDF workers busy with a short queue, well under kdf-queue-max.
    # The connections never say hello, hence the long hello-timeout.
    # Each setting is MEMORY_KIB:PASSES:ACCOUNTS:SECONDS; sign-ups hash
    # too, so the costly setting makes few accounts.
    echo "== logins"
    if [ "$MODE" = full ]; then
        LOGIN_SETTINGS="19456:2:40:6 65536:3:8:6 1024:1:200:4"
    else
        LOGIN_SETTINGS="19456:2:24:2 1024:1:100:2"
    fi
    [ -z "$REDIS_PID" ] && start_redis
    for s in $LOGIN_SETTINGS; do
        kmem=${s%%:*}; s=${s#*:}
        ktime=${s%%:*}; s=${s#*:}
        naccts=${s%%:*}; lsecs=${s#*:}
        start_wishd --kdf-memory "$kmem" --kdf-time "$ktime" \
            --hello-timeout 3600
        wb "logins-$kmem-$ktime" logins --port "$WISHD_PORT" \
            --secret-file "$RUN/secret" --accounts "$naccts" \
            --seconds "$lsecs" --connections 4 --pipeline 2 \
            --kdf-memory "$kmem" --kdf-time "$ktime"
        stop_wishd
    done
fi

if [ "$MODE" = quick ] || [ "$MODE" = full ]; then
    # 10. WebSocket beside TCP, on a wishd with its HTTP port (loopback):
    # round trips with one call in flight (ping: wishd alone; post:
    # wishd and Redis), the transports interleaved so that the ratios
    # come from the same minutes; then memory per idle session, each
    # transport on a fresh wishd (memory freed by one phase would be
    # reused by the next and hide its cost). Posts go to the city of
    # the phases before; their offers nobody accepts.
    echo "== websocket"
    if [ "$MODE" = full ]; then RTT_T=$T; IDLE_N=10000; else RTT_T=2; IDLE_N=2000; fi
    [ -n "$WISHD_PID" ] && stop_wishd
    [ -z "$REDIS_PID" ] && start_redis
    free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    }
    HTTP_PORT=$(free_port)
    HTTP_FLAGS="--http-port $HTTP_PORT --http-bind 127.0.0.1"
    start_wishd $HTTP_FLAGS
    for round in 1 2; do
        for m in ping post; do
            wb "rtt-$m-tcp-$round" rtt --port "$WISHD_PORT" \
                --secret-file "$RUN/secret" --transport tcp --method "$m" \
                --connections 1 --pipeline 1 --seconds "$RTT_T"
            wb "rtt-$m-ws-$round" rtt --port "$HTTP_PORT" \
                --secret-file "$RUN/secret" --transport ws --method "$m" \
                --connections 1 --pipeline 1 --seconds "$RTT_T"
        done
    done
    for tr in ws tcp; do
        stop_wishd
        HTTP_PORT=$(free_port)
        HTTP_FLAGS="--http-port $HTTP_PORT --http-bind 127.0.0.1"
        start_wishd $HTTP_FLAGS
        port=$WISHD_PORT
        [ "$tr" = ws ] && port=$HTTP_PORT
        wb "idle-$tr" idle --port "$port" --secret-file "$RUN/secret" \
            --transport "$tr" --wishd-pid "$WISHD_PID" \
            --connections "$IDLE_N" --seconds 3
    done
    stop_wishd

    # 11. The web apps: a phone's first load of the volunteer's and the
    # resident's page in Debian's Chromium, cold, until each shows its
    # own data (bench/web.mjs), from a wishd serving build/web.
    echo "== web"
    if [ -x "${WISH_CHROMIUM:-/usr/bin/chromium}" ] &&
       [ -d "$ROOT/clients/web/node_modules/playwright-core" ] &&
       [ -f "$ROOT/build/web/index.html" ]; then
        HTTP_PORT=$(free_port)
        start_wishd --http-port "$HTTP_PORT" --http-bind 127.0.0.1 \
            --web-root "$ROOT/build/web"
        session() { # role user region: {"token", "expires"} and the rest
            tok=$("$ROOT/bin/wishctl" token --secret-file "$RUN/secret" \
                --user "$2" --role "$1" --region "$3" --json)
            printf '"%s":{"user":"%s","role":"%s","region":"%s",%s' \
                "$1" "$2" "$1" "$3" "${tok#\{}"
        }
        TOKENS="{$(session volunteer web-vol jinan/lixia),$(session resident web-res jinan/lixia/quancheng/xinhe)}"
        if [ "$MODE" = full ]; then WEB_RUNS=10; else WEB_RUNS=5; fi
        echo "RUNS=$WEB_RUNS node bench/web.mjs (WISH_URL: wishd --http-port)" >> "$CMDS"
        WISH_URL="http://127.0.0.1:$HTTP_PORT/" WISH_TOKENS="$TOKENS" \
            RUNS=$WEB_RUNS node "$ROOT/bench/web.mjs" | tee -a "$OUT"
        stop_wishd
    else
        echo "no chromium, playwright-core or build/web: web phase skipped" >&2
    fi
fi

if [ "$MODE" = full ] || [ "$MODE" = cluster ]; then
    # 12. Redis Cluster: direct matches (wish_task_post with its offer,
    # as `wishbench direct`) on a cluster of one master holding every
    # slot against one of two masters with the slots halved, the same 8
    # cities in each: four whose {city} slot is below 8192 (jinan 206,
    # yantai 1063, weifang 5864, qingdao 6024) and four above (jining
    # 8876, weihai 10925, heze 14107, linyi 14198), so two masters get 4
    # each. Each city is seeded with CL_VOLS volunteers and gets CL_POSTS
    # posts (the same people and posts in every city, a copy of the Jinan
    # model), so both clusters do exactly the same work. Both clusters
    # run at once and post in turns of CL_BLOCK posts a city (the other
    # one idle meanwhile), so that both meet the same load from the rest
    # of the machine; one wishbench process, one TCP connection per
    # master, 32 posts in flight on each. Two rounds, fresh clusters
    # each; the standalone Redis and wishd are stopped meanwhile (they
    # would take a share of the cores).
    echo "== cluster"
    [ -n "$WISHD_PID" ] && stop_wishd
    [ -n "$REDIS_PID" ] && stop_redis
    CL_CITIES=jinan,qingdao,yantai,weifang,jining,weihai,linyi,heze
    CL_VOLS=${CL_VOLS:-4000}
    CL_POSTS=${CL_POSTS:-2000}
    CL_BLOCK=${CL_BLOCK:-$((CL_POSTS / 8))}
    for round in 1 2; do
        start_cluster 1
        one=${CLUSTER_PORTS%% *}
        start_cluster 2
        two=${CLUSTER_PORTS%% *}
        wb "cluster-$round" cluster --redis "127.0.0.1:$one" \
            --versus "127.0.0.1:$two" --cities "$CL_CITIES" \
            --volunteers "$CL_VOLS" --requests "$CL_POSTS" \
            --block "$CL_BLOCK" --pipeline 32
        stop_cluster
    done
fi

if [ "$MODE" = full ] || [ "$MODE" = mobilise ]; then
  if [ "$MODE" = full ]; then
    # 6. Connections: 10 000 idle sessions on a fresh wishd
    echo "== connections"
    fresh_city 10000 quality
    stop_wishd
    start_wishd
    wb conns-10000 conns --port "$WISHD_PORT" --secret-file "$RUN/secret" \
        --wishd-pid "$WISHD_PID" --connections 10000 --seconds 3
    # 5. Quality: 1 000 tasks on the same fresh city (direct, first offer
    # accepted), vs the optimum
    echo "== quality"
    wb quality-1000 quality --redis-socket "$SOCK" --volunteers 10000 \
        --tasks 1000
    # 7. Instructions per match under callgrind: the figure that does not
    # move with the machine's load
    echo "== instructions (callgrind)"
    if command -v callgrind_control >/dev/null; then
        echo "WISHBENCH=$BIN/wishbench sh bench/instructions.sh 3000 500" >> "$CMDS"
        WISHBENCH="$BIN/wishbench" sh "$ROOT/bench/instructions.sh" 3000 500 |
            tee -a "$OUT"
    else
        echo "no valgrind: instructions phase skipped" >&2
    fi
  fi
    # 4. Mobilisation: 240 k volunteers, 100 k tasks
    mobilise ""
fi

if [ "$MODE" = full ] || [ "$MODE" = i19 ]; then
    # 13. Issue 19's timed targets, before (the base build) and now, in
    # this run: direct matches/s and FCALL time at each size, interleaved
    # (both Redis servers up, one driven at a time; the main one and
    # wishd stopped meanwhile)...
    I19_BUILDS=now
    [ -n "$BASE_OK" ] && I19_BUILDS="base now"
    [ -n "$WISHD_PID" ] && stop_wishd
    [ -n "$REDIS_PID" ] && stop_redis
    for n in $I19_SIZES; do i19_direct "$n"; done
    # ... then p99 at half the peak and the mobilisation, the base's
    # first (full mode measured this build's in 2. and 4.)
    if [ -n "$BASE_OK" ]; then
        echo "== issue 19: latency at half the peak, base"
        use_build base
        peak_and_half base-
        use_build now
    fi
    if [ "$MODE" = i19 ]; then
        echo "== issue 19: latency at half the peak, now"
        peak_and_half ""
    fi
    if [ -n "$BASE_OK" ]; then
        use_build base
        mobilise base-
        use_build now
    fi
    [ "$MODE" = i19 ] && mobilise ""
fi
cleanup
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) at the end" >> "$NOTES"

python3 "$ROOT/bench/report.py" --mode "$MODE" --results "$OUT" \
    --commands "$CMDS" --start "$START" --end "$END" \
    --redis "$(redis-server --version)" --base "$BASE" \
    --notes "$NOTES" > "$REPORT"
echo "== wrote $REPORT (raw lines: $OUT)"
