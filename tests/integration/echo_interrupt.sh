#!/usr/bin/env bash
# SIGINT/SIGTERM end any echo run within a second: the in-process
# cut-through run (and its kernel baseline) and an attached client of
# actorstack-stackd. The summary says "interrupted" with what was moved so
# far, nothing is left in the stack, and the exit status is 3.
#
#   echo_interrupt.sh <actorstack-echo> <actorstack-stackd>
set -u
echo_bin=$1 stackd_bin=$2
fail() { echo "FAIL: $*"; exit 1; }
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"' EXIT

# interrupt SIGNAL OUTFILE CMD...: starts CMD, lets it move bytes for a
# second, signals it and checks it ended within 1 s with status 3.
interrupt() {
  local sig=$1 out=$2; shift 2
  "$@" >"$out" 2>"$out.err" &
  local pid=$!
  sleep 1.5
  kill -0 "$pid" 2>/dev/null || fail "'$*' ended before the signal: $(cat "$out" "$out.err")"
  local t0; t0=$(date +%s%N)
  kill "-$sig" "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.02; waited=$((waited + 1)); done
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  kill -0 "$pid" 2>/dev/null && fail "'$*' still running ${ms} ms after SIG$sig"
  wait "$pid"; local rc=$?
  [ "$rc" = 3 ] || fail "'$*' exited $rc after SIG$sig, not 3: $(cat "$out" "$out.err")"
  [ $ms -le 1000 ] || fail "'$*' took ${ms} ms to end after SIG$sig"
  grep -q '"interrupted":true' "$out" || fail "summary does not say interrupted: $(cat "$out")"
  echo "SIG$sig ended '$(basename "$1") ${*:2}' in ${ms} ms"
}

# In one process: far more than a second and a half of bytes.
interrupt INT "$work/ct_int" "$echo_bin" --clients 8 --bytes 64G --json
out=$(cat "$work/ct_int")
[ "$(field bytes_total "$out")" -gt 0 ] || fail "nothing moved before SIGINT: $out"
[ "$(field sessions_left "$out")" = 0 ] && [ "$(field segments_left "$out")" = 0 ] && [ "$(field fifos_left "$out")" = 0 ] \
  || fail "left behind after SIGINT: $out"
[ "$(field verify_errors "$out")" = 0 ] || fail "verify errors: $out"
interrupt TERM "$work/ct_term" "$echo_bin" --clients 2 --bytes 64G --json
[ "$(field sessions_left "$(cat "$work/ct_term")")" = 0 ] || fail "left behind after SIGTERM: $(cat "$work/ct_term")"
# The kernel baseline runs after the stack's echo: interrupting the stack's
# half ends the run without starting it.
interrupt INT "$work/base" "$echo_bin" --bytes 64G --baseline --json
grep -q baseline_gbps "$work/base" && fail "the baseline ran after an interrupt: $(cat "$work/base")"

# An attached client of a daemon.
sock="$work/as.sock"
"$stackd_bin" --socket "$sock" >"$work/stackd.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "stackd did not start: $(cat "$work/stackd.log")"
"$echo_bin" --attach "$sock" --role server --uri ct://127.0.0.1/7400 >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q "attached server" "$work/server.log" && break; sleep 0.05; done
interrupt INT "$work/att" "$echo_bin" --attach "$sock" --role client --uri ct://127.0.0.1/7400 --clients 4 \
  --bytes 64G --json
out=$(cat "$work/att")
[ "$(field sessions_left "$out")" = 0 ] || fail "attached client left sessions: $out"
echo PASS
