#!/usr/bin/env bash
# Runs test binaries, up to TEST_JOBS at a time (default: the number of
# cores), each with its output in a log of its own, and says which failed.
#
#   tests/run_tests.sh LOGDIR ENTRY...
#
# An ENTRY is a test binary's path, or VAR=VALUE[,VAR=VALUE]:PATH to run it
# with those variables set (WISH_TEST_CLUSTER=1:build/release/tests/x).
# Entries start in the order given, so the Makefile lists the long ones
# first: two at a time, a suite that mostly waits (a Redis outage, a
# failover) overlaps one that computes, and `make test` takes about half
# the time of running them one after another.
#
# Why the tests may share the machine: each starts its own redis-server,
# wishd and browser on free loopback ports and temporary directories
# (tests/lib/harness.c), and none asserts a time. A test that hangs is
# ended after TEST_TIMEOUT seconds (default 900) and counts as failed.
#
# For each test it prints one line when it ends, with its time; a failed
# test's whole log follows its line. Every test runs even after a failure;
# the exit status is 1 if any failed. LOGDIR/times.txt keeps the times.
set -u

if [ $# -lt 1 ]; then
  echo "usage: tests/run_tests.sh LOGDIR ENTRY..." >&2
  exit 2
fi
logdir=$1
shift
jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
limit=${TEST_TIMEOUT:-900}
mkdir -p "$logdir"
: >"$logdir/times.txt"

declare -A entry_of start_of log_of
failed=()
running=0
pending=("$@")

# log_name ENTRY: a file name for the entry's log, unique per variables.
log_name() {
  local entry=$1 vars="" path=$1
  if [[ $entry == *=*:* ]]; then
    vars=${entry%%:*}
    path=${entry#*:}
  fi
  local name
  name=$(basename "$path")
  if [ -n "$vars" ]; then
    name="$name.$(printf '%s' "$vars" | tr -c 'A-Za-z0-9_\n' '_')"
  fi
  printf '%s/%s.log' "$logdir" "$name"
}

start_one() {
  local entry=$1 vars="" path=$1 log
  if [[ $entry == *=*:* ]]; then
    vars=${entry%%:*}
    path=${entry#*:}
  fi
  log=$(log_name "$entry")
  (
    if [ -n "$vars" ]; then
      IFS=',' read -r -a assignments <<<"$vars"
      export "${assignments[@]}"
    fi
    exec timeout --kill-after=10 "$limit" "$path"
  ) >"$log" 2>&1 </dev/null &
  entry_of[$!]=$entry
  start_of[$!]=$(date +%s.%N)
  log_of[$!]=$log
  running=$((running + 1))
}

# finish PID STATUS: prints the entry's line (and its log if it failed).
finish() {
  local pid=$1 status=$2 entry secs summary
  entry=${entry_of[$pid]}
  secs=$(awk -v a="${start_of[$pid]}" -v b="$(date +%s.%N)" \
         'BEGIN { printf "%.1f", b - a }')
  summary=$(grep -E '^\[  PASSED  \] [0-9]+ test' "${log_of[$pid]}" |
            tail -n 1 | sed 's/.*\] //')
  printf '%s %s\n' "$secs" "$entry" >>"$logdir/times.txt"
  if [ "$status" -eq 0 ]; then
    echo "== $entry: passed${summary:+, $summary} in $secs s"
  else
    if [ "$status" -eq 124 ]; then
      echo "== $entry: FAILED: still running after $limit s, ended"
    else
      echo "== $entry: FAILED (exit $status) after $secs s; its log:"
    fi
    sed 's/^/    /' "${log_of[$pid]}"
    failed+=("$entry")
  fi
  unset "entry_of[$pid]" "start_of[$pid]" "log_of[$pid]"
  running=$((running - 1))
}

next=0
while [ "$next" -lt "${#pending[@]}" ] || [ "$running" -gt 0 ]; do
  while [ "$running" -lt "$jobs" ] && [ "$next" -lt "${#pending[@]}" ]; do
    start_one "${pending[$next]}"
    next=$((next + 1))
  done
  done_pid=""
  wait -n -p done_pid
  status=$?
  [ -n "$done_pid" ] && finish "$done_pid" "$status"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "== ${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
exit 0
