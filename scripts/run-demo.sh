#!/bin/sh
# run-demo.sh -- `make run`: a private redis-server and wishd in ./run/,
# with a generated secret and ready-to-paste demo tokens. Ctrl-C stops both.
#
#   WISH_PORT   port for wishd (default 7400)
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN="$ROOT/run"
PORT=${WISH_PORT:-7400}
mkdir -p "$RUN"

# The secret signs every token: generate it once, readable by us only.
if [ ! -s "$RUN/secret" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
        > "$RUN/secret")
fi

# Redis on a unix socket inside run/: nothing else on the machine sees it.
cat > "$RUN/redis.conf" <<CONF
port 0
unixsocket $RUN/redis.sock
unixsocketperm 700
dir $RUN
save ""
appendonly yes
appendfsync everysec
daemonize no
logfile $RUN/redis.log
CONF
redis-server "$RUN/redis.conf" &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null || true' EXIT INT TERM

cat > "$RUN/wishd.conf" <<CONF
# Demo configuration written by scripts/run-demo.sh
port $PORT
bind 127.0.0.1
redis-socket $RUN/redis.sock
secret-file $RUN/secret
log-level info
CONF

CTL="$ROOT/bin/wishctl"
mint() {
    "$CTL" token --secret-file "$RUN/secret" --user "$1" --role "$2" \
        --region "$3" --ttl 86400
}
RESIDENT=$(mint wang-ayi resident jinan/lixia/quancheng/xinhe)
VOLUNTEER=$(mint li-lei volunteer jinan/lixia)
COORD=$(mint lixia-centre coordinator jinan/lixia)
ADMIN=$(mint city-admin admin jinan)

cat <<TXT

microwish demo: wishd on 127.0.0.1:$PORT, Redis on $RUN/redis.sock
Tokens (valid 24 h), ready to paste into another terminal:

  export RESIDENT='$RESIDENT'
  export VOLUNTEER='$VOLUNTEER'
  export COORD='$COORD'
  export ADMIN='$ADMIN'

Try:
  bin/wishctl ping --port $PORT
  bin/wishctl call me --port $PORT --token "\$RESIDENT"
  bin/wishctl call me --port $PORT --token "\$VOLUNTEER" --json

Ctrl-C stops wishd and Redis. Logs: $RUN/redis.log and this terminal.

TXT
"$ROOT/bin/wishd" --config "$RUN/wishd.conf"
