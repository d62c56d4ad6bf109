#!/usr/bin/env bash
# actorstack-ctl against a real actorstack-echo process: the demo holds its
# verified sessions open, ctl's JSON must agree with what the demo did, and
# a stack that is gone must give a clear error and a non-zero exit quickly.
#   ctl_against_echo.sh <actorstack-echo> <actorstack-ctl>
set -euo pipefail
echo_bin=$1
ctl_bin=$2
work=$(mktemp -d)
trap 'kill "$demo" 2>/dev/null || true; rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; cat "$work/err" >&2 || true; exit 1; }
# The number after "key": in a one-line JSON object.
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2"; }

clients=5
"$echo_bin" --clients $clients --bytes 256k --workers 2 --inspect-port 0 --hold 20 --json \
  >"$work/out" 2>"$work/err" &
demo=$!
for _ in $(seq 200); do grep -q holding "$work/err" && break; sleep 0.05; done
grep -q holding "$work/err" || fail "the demo never held its sessions"
port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/err")
[ -n "$port" ] || fail "no inspector port printed"

summary=$(timeout 20 "$ctl_bin" --port "$port" show summary --json)
echo "ctl: $summary"
[ "$(field sessions "$summary")" = $((2 * clients)) ] || fail "sessions: $summary"
[ "$(field ready "$summary")" = $((2 * clients)) ] || fail "sessions_by_state: $summary"
[ "$(field listeners "$summary")" = 1 ] || fail "listeners: $summary"
[ "$(field apps "$summary")" = 2 ] || fail "apps: $summary"
[ "$(field workers "$summary")" = 2 ] || fail "workers: $summary"
[ "$(field ct_segments "$summary")" -ge 1 ] || fail "ct_segments: $summary"
[ "$(field segment_bytes_used "$summary")" -gt 0 ] || fail "segment_bytes_used: $summary"

# Filters and tables answer too; a bad topic is an error, not a hang.
sessions=$(timeout 20 "$ctl_bin" --port "$port" show sessions --json --app 1)
[ "$(grep -o '"state":"ready"' <<<"$sessions" | wc -l)" = $clients ] || fail "client sessions: $sessions"
timeout 20 "$ctl_bin" --port "$port" show ct | grep -q "sessions c/s" || fail "ct table"
if timeout 20 "$ctl_bin" --port "$port" show nonsense 2>"$work/ctl_err"; then fail "unknown topic accepted"; fi
grep -q "nonsense" "$work/ctl_err" || fail "unknown topic message: $(cat "$work/ctl_err")"
timeout 20 "$ctl_bin" --port "$port" watch summary --count 2 --interval 1 | grep -c "^sessions" | grep -q 2 \
  || fail "watch did not refresh twice"

# End the hold; the demo's own summary must agree and leave nothing.
kill -TERM "$demo"
wait "$demo" || fail "the demo failed: $(cat "$work/out")"
out=$(cat "$work/out")
echo "demo: $out"
[ "$(field clients "$out")" = $clients ] || fail "demo clients: $out"
[ "$(field workers "$out")" = "$(field workers "$summary")" ] || fail "workers disagree"
[ "$(field sessions_left "$out")" = 0 ] || fail "sessions left: $out"
[ "$(field segments_left "$out")" = 0 ] || fail "segments left: $out"

# The stack is gone: a clear error and exit 1, quickly.
start=$(date +%s)
if timeout 20 "$ctl_bin" --port "$port" show summary 2>"$work/ctl_err"; then fail "ctl reached a dead stack"; fi
grep -q "no stack inspector" "$work/ctl_err" || fail "unreachable message: $(cat "$work/ctl_err")"
[ $(($(date +%s) - start)) -lt 10 ] || fail "ctl took too long to give up"
echo PASS
