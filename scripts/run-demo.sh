#!/bin/sh
# run-demo.sh -- a private redis-server and wishd in ./run/, with a
# generated secret, for `make run` and `make demo`.
#
#   scripts/run-demo.sh               `make run`: start both, print the
#                                     web apps' URL, an admin invite for
#                                     jinan as a sign-up link and how to
#                                     sign up with it (demo tokens in
#                                     $RUN/tokens.sh), keep wishd in the
#                                     foreground; Ctrl-C stops both
#   scripts/run-demo.sh --background  start both in the background, wait
#                                     until wishd answers, write their pids
#                                     to $RUN/redis.pid and $RUN/wishd.pid
#   scripts/run-demo.sh --stop        stop what --background started (by
#                                     those pids)
#   scripts/run-demo.sh --demo [ARGS] `make demo`: --background in run/demo/
#                                     with a fresh, unsaved store, then
#                                     scripts/demo.py ARGS, then --stop
#
#   WISH_PORT   port for wishd (default 7400)
#   WISH_HTTP_PORT  its HTTP port: the web apps and /ws (default 7480;
#               0: none); not in --demo
#   WISH_RUN    the directory (default ./run; ./run/demo for --demo)
#   WISH_BIN    where wishd and wishctl are (default ./bin)
#
# A second start while one runs on the same directory or port says so and
# exits 1 before it writes or removes anything there.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${WISH_PORT:-7400}
HTTP_PORT=${WISH_HTTP_PORT:-7480}
BIN=${WISH_BIN:-$ROOT/bin}
CTL="$BIN/wishctl"
MODE=foreground
case "${1:-}" in
    --background) MODE=background; shift ;;
    --stop) MODE=stop; shift ;;
    --demo) MODE=demo; shift ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "run-demo.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
esac
if [ "$MODE" = demo ]; then
    RUN=${WISH_RUN:-$ROOT/run/demo}
else
    RUN=${WISH_RUN:-$ROOT/run}
fi
FRESH=no
[ "$MODE" = demo ] && FRESH=yes

# ---------------------------------------------------------------- pieces

# The secret signs every token: generate it once, readable by us only.
make_secret() {
    mkdir -p "$RUN"
    if [ ! -s "$RUN/secret" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
            > "$RUN/secret")
    fi
}

# Redis on a unix socket inside $RUN: nothing else on the machine sees it.
# A fresh store (--demo) is neither saved nor loaded.
write_redis_conf() {
    if [ "$FRESH" = yes ]; then
        rm -rf "$RUN/appendonlydir" "$RUN/dump.rdb"
        persist='appendonly no'
    else
        persist='appendonly yes
appendfsync everysec'
    fi
    cat > "$RUN/redis.conf" <<CONF
port 0
unixsocket $RUN/redis.sock
unixsocketperm 700
dir $RUN
save ""
$persist
daemonize no
logfile $RUN/redis.log
CONF
}

write_wishd_conf() {
    cat > "$RUN/wishd.conf" <<CONF
# Demo configuration written by scripts/run-demo.sh
port $PORT
bind 127.0.0.1
redis-socket $RUN/redis.sock
secret-file $RUN/secret
log-level info
# The centre named on service certificates and by their verification.
cert-issuer jinan=济南市志愿服务中心;qingdao=青岛市志愿服务中心
CONF
    # The HTTP port: the web apps (build/web, found next to bin/wishd
    # since web-root is unset) and /ws; invite links point at it.
    if [ "$MODE" != demo ] && [ "$HTTP_PORT" != 0 ]; then
        cat >> "$RUN/wishd.conf" <<CONF
http-port $HTTP_PORT
http-bind 127.0.0.1
public-url http://127.0.0.1:$HTTP_PORT/
CONF
    fi
    if [ "$MODE" = demo ]; then
        # The demo district whose wishes the centre reviews first.
        echo "review-regions jinan/zhangqiu" >> "$RUN/wishd.conf"
        # It seeds thousands of volunteers from this one address: no
        # per-address rate limit (when this wishd has one).
        if "$BIN/wishd" --help 2>&1 | grep -q -- '--rate-addr '; then
            echo "rate-addr 0" >> "$RUN/wishd.conf"
        fi
    fi
}

mint() {
    "$CTL" token --secret-file "$RUN/secret" --user "$1" --role "$2" \
        --region "$3" --ttl 86400
}

# True when the process with pid $1 is alive and its command is $2.
is_ours() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
        [ "$(ps -p "$1" -o comm= 2>/dev/null)" = "$2" ]
}

# Stops the process whose pid is in file $1 if it is still the command
# $2: SIGTERM, up to 10 s, then SIGKILL. Removes the pid file.
stop_pid() {
    [ -f "$1" ] || return 0
    pid=$(cat "$1" 2>/dev/null || true)
    if is_ours "$pid" "$2"; then
        kill -TERM "$pid" 2>/dev/null || true
        n=0
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
            sleep 0.1; n=$((n + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "run-demo.sh: $2 ($pid) did not stop; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$1"
}

stop_all() {
    stop_pid "$RUN/wishd.pid" wishd
    stop_pid "$RUN/redis.pid" redis-server
}

# Exits 1 when a demo already runs on $RUN or $PORT: its pid files name
# live processes, its Redis answers on $RUN/redis.sock, or something
# answers on the port. Called before anything in $RUN is written or
# removed: a second redis-server would take over the first one's socket
# and a second write of the configs would change them under it.
refuse_if_running() {
    for f in wishd redis; do
        comm=$f; [ $f = redis ] && comm=redis-server
        if [ -f "$RUN/$f.pid" ] && is_ours "$(cat "$RUN/$f.pid")" $comm; then
            echo "run-demo.sh: $comm from $RUN is already running" \
                 "(pid $(cat "$RUN/$f.pid")); leaving it alone. Stop it" \
                 "first (Ctrl-C in its terminal, or scripts/run-demo.sh" \
                 "--stop when it runs in the background)" >&2
            exit 1
        fi
    done
    if [ -S "$RUN/redis.sock" ] &&
        redis-cli -s "$RUN/redis.sock" ping >/dev/null 2>&1; then
        echo "run-demo.sh: a Redis is already running on $RUN/redis.sock;" \
             "leaving it alone" >&2
        exit 1
    fi
    if "$CTL" ping --port "$PORT" --timeout 300 >/dev/null 2>&1; then
        echo "run-demo.sh: wishd is already running on port $PORT;" \
             "leaving it alone (set WISH_PORT for another one)" >&2
        exit 1
    fi
}

# Starts redis-server and wishd in the background and waits until wishd
# answers a ping. On failure stops what it started and exits 1.
start_background() {
    refuse_if_running
    make_secret
    write_redis_conf
    write_wishd_conf
    redis-server "$RUN/redis.conf" >/dev/null 2>&1 &
    echo $! > "$RUN/redis.pid"
    n=0
    until redis-cli -s "$RUN/redis.sock" ping >/dev/null 2>&1; do
        n=$((n + 1))
        if [ $n -gt 100 ] || ! kill -0 "$(cat "$RUN/redis.pid")" 2>/dev/null
        then
            echo "run-demo.sh: redis-server did not start; see" \
                 "$RUN/redis.log" >&2
            tail -n 20 "$RUN/redis.log" >&2 2>/dev/null || true
            stop_all
            exit 1
        fi
        sleep 0.1
    done
    "$BIN/wishd" --config "$RUN/wishd.conf" >> "$RUN/wishd.log" 2>&1 &
    echo $! > "$RUN/wishd.pid"
    n=0
    until "$CTL" ping --port "$PORT" --timeout 300 >/dev/null 2>&1; do
        n=$((n + 1))
        if [ $n -gt 50 ] || ! kill -0 "$(cat "$RUN/wishd.pid")" 2>/dev/null
        then
            echo "run-demo.sh: wishd did not start; the end of" \
                 "$RUN/wishd.log:" >&2
            tail -n 20 "$RUN/wishd.log" >&2 2>/dev/null || true
            stop_all
            exit 1
        fi
        sleep 0.1
    done
}

# ----------------------------------------------------------------- modes

case $MODE in
stop)
    stop_all
    exit 0
    ;;
background)
    start_background
    echo "wishd on 127.0.0.1:$PORT (pid $(cat "$RUN/wishd.pid")), Redis on" \
         "$RUN/redis.sock (pid $(cat "$RUN/redis.pid")); logs in $RUN;" \
         "stop with scripts/run-demo.sh --stop"
    exit 0
    ;;
demo)
    start_background
    trap 'stop_all' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo "make demo: wishd on 127.0.0.1:$PORT, Redis on $RUN/redis.sock," \
         "logs in $RUN"
    status=0
    /usr/bin/python3 "$ROOT/scripts/demo.py" --port "$PORT" \
        --secret-file "$RUN/secret" --wishctl "$CTL" \
        --token-cache "$RUN/tokens.json" "$@" || status=$?
    exit $status
    ;;
esac

# foreground (`make run`): pid files as --background writes them, so
# that a second `make run` sees this one.
refuse_if_running
make_secret
write_redis_conf
redis-server "$RUN/redis.conf" &
echo $! > "$RUN/redis.pid"
trap 'stop_all' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

write_wishd_conf

# wishd in the background of this script, its log on this terminal, and
# waited for at the end: the traps above then run at once on Ctrl-C or
# SIGTERM and stop both (a background job of a script ignores SIGINT
# itself). It must be up before the invite below can be made.
"$BIN/wishd" --config "$RUN/wishd.conf" &
WISHD_PID=$!
echo $WISHD_PID > "$RUN/wishd.pid"
n=0
until "$CTL" ping --port "$PORT" --timeout 300 >/dev/null 2>&1; do
    n=$((n + 1))
    if [ $n -gt 50 ] || ! kill -0 "$WISHD_PID" 2>/dev/null; then
        echo "run-demo.sh: wishd did not start (its log is above)" >&2
        exit 1
    fi
    sleep 0.1
done

RESIDENT=$(mint wang-ayi resident jinan/lixia/quancheng/xinhe)
VOLUNTEER=$(mint li-lei volunteer jinan/lixia)
COORD=$(mint lixia-centre coordinator jinan/lixia)
ADMIN=$(mint city-admin admin jinan)

# Raw tokens, for operators and scripts: in a file only we can read, not
# on the screen (people sign up with the invite instead).
(umask 077 && cat > "$RUN/tokens.sh" <<TOK
# Demo tokens of scripts/run-demo.sh (valid 24 h): . $RUN/tokens.sh
export RESIDENT='$RESIDENT'
export VOLUNTEER='$VOLUNTEER'
export COORD='$COORD'
export ADMIN='$ADMIN'
TOK
)

# One admin invite for the demo city, made with the city's admin token.
# wishd answers ping before its Redis link is up (account.invite needs
# it: UNAVAILABLE until then), so a few tries, bounded.
INVITE=
n=0
while [ -z "$INVITE" ]; do
    INVITE=$("$CTL" call account.invite role=admin region=jinan \
        --token "$ADMIN" --port "$PORT" --json 2>/dev/null |
        sed -n 's/.*"codes":\["\([^"]*\)".*/\1/p') || true
    n=$((n + 1))
    if [ -z "$INVITE" ] && [ $n -ge 50 ]; then
        echo "run-demo.sh: no invite from wishd; the tokens are in" \
             "$RUN/tokens.sh" >&2
        break
    fi
    [ -z "$INVITE" ] && sleep 0.2
done

printf '\nmicrowish 演示 / demo: wishd on 127.0.0.1:%s, Redis on %s\n' \
    "$PORT" "$RUN/redis.sock"
APPS=
if [ "$HTTP_PORT" != 0 ]; then
    APPS="http://127.0.0.1:$HTTP_PORT/"
    printf '\n网页应用 / the web apps: %s\n' "$APPS"
    if [ ! -f "$ROOT/build/web/index.html" ]; then
        echo "  (not built: run make, which builds them into build/web)"
    fi
fi
[ -n "$INVITE" ] && cat <<TXT

济南（jinan）的管理员邀请码（7 天内有效，只能用一次）：
Admin invite for jinan (valid 7 days, once):

  invite code: $INVITE
TXT
[ -n "$INVITE" ] && [ -n "$APPS" ] && cat <<TXT

在浏览器里打开这个链接注册（用户名、名字和密码自选）：
Open this link in a browser to sign up (pick your user id, name and
password):

  invite link: ${APPS}#/signup?invite=$INVITE
TXT
[ -n "$INVITE" ] && cat <<TXT

或者在另一个终端用 wishctl 注册：
Or sign up with wishctl in another terminal:

  bin/wishctl signup --port $PORT --city jinan --invite $INVITE \\
      --user city-admin-1 --name '李主任'

或者直接调用 auth.signup（密码 8 位以上，会留在 shell 历史里）：
or call auth.signup directly (password of 8+ bytes; it stays in your
shell history):

  bin/wishctl call auth.signup --port $PORT city=jinan invite=$INVITE \\
      user=city-admin-1 name='李主任' password='choose-a-password'

之后登录 / then log in:
  bin/wishctl call auth.login --port $PORT city=jinan user=city-admin-1 \\
      password='choose-a-password'
TXT
cat <<TXT

原始令牌（24 小时有效，给运维和脚本用）在 $RUN/tokens.sh：
Raw tokens (valid 24 h, for operators and scripts) are in $RUN/tokens.sh:

  . $RUN/tokens.sh      # exports RESIDENT, VOLUNTEER, COORD, ADMIN

然后试试 / then try (bin/wishctl --help lists every command):
  bin/wishctl ping --port $PORT
  bin/wishctl me --port $PORT --token "\$VOLUNTEER"
  bin/wishctl profile --port $PORT --token "\$VOLUNTEER" --skills shopping \\
      --home 117.06,36.67 --window now,+8h --available yes
  bin/wishctl wish submit --port $PORT --token "\$RESIDENT" --title 'Buy rice' \\
      --skill shopping --at 117.061,36.671 --from +1h --to +2h
  bin/wishctl offers --port $PORT --token "\$VOLUNTEER"
  bin/wishctl watch jinan/lixia --port $PORT --token "\$COORD"

Ctrl-C 停止 wishd 和 Redis / Ctrl-C stops wishd and Redis. Logs:
$RUN/redis.log and this terminal.

TXT
status=0
wait $WISHD_PID || status=$?
exit $status
