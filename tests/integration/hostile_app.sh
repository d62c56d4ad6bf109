#!/usr/bin/env bash
# A hostile attached app next to an unrelated pair (issue 16): while an
# echo server and 4 verified echo clients stream through one
# actorstack-stackd (until told to stop, after the hostile app is done), actorstack-test-hostile-app opens sessions until its
# quota says no, tries to resize every memfd it was given, floods the Unix
# socket with garbage and oversize datagrams, scribbles over every segment
# it maps and exits without detaching. The daemon survives, the pair loses
# nothing, the hostile app's refusals are counted, and nothing of it is
# left afterwards.
#   hostile_app.sh <actorstack-stackd> <actorstack-echo> <actorstack-ctl> <actorstack-test-hostile-app>
set -euo pipefail
stackd_bin=$1
echo_bin=$2
ctl_bin=$3
hostile_bin=$4
work=$(mktemp -d)
sock="$work/stack.sock"
uri=ct://127.0.0.1/7700
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.err "$work"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -40 "$f" >&2; }; done
  exit 1
}
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
wait_for() {  # wait_for FILE TEXT
  for _ in $(seq 400); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "no '$2' in $1"
}
ctl() { timeout 40 "$ctl_bin" --port "$port" --timeout 30 "$@"; }

printf '[quota]\nsessions = 32\n' >"$work/stack.conf"
"$stackd_bin" --socket "$sock" --config "$work/stack.conf" --inspect-port 0 --workers 2 \
  >"$work/stackd.out" 2>"$work/stackd.err" &
stackd=$!
pids+=("$stackd")
wait_for "$work/stackd.err" "serving apps"
port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/stackd.err")
[ -n "$port" ] || fail "no inspector port printed"

"$echo_bin" --attach "$sock" --role server --uri $uri >"$work/server.out" 2>"$work/server.err" &
server=$!
pids+=("$server")
wait_for "$work/server.err" "attached server"
"$echo_bin" --attach "$sock" --role client --uri $uri --clients 4 --bytes 64g --verify --json \
  >"$work/client.out" 2>"$work/client.err" &
client=$!
pids+=("$client")
for _ in $(seq 200); do
  s=$(ctl show summary --json) || s=""
  [ "$(field sessions "$s")" = 8 ] && break
  sleep 0.05
done
[ "$(field sessions "$s")" = 8 ] || fail "the bystanders' sessions never showed: $s"

rc=0
timeout 120 "$hostile_bin" "$sock" >"$work/hostile.out" 2>"$work/hostile.err" || rc=$?
echo "hostile app (exit $rc):"
cat "$work/hostile.out"
grep -q '^quota: 32 sessions, then quota$' "$work/hostile.out" || fail "the session quota did not stop the hostile app at 32"
grep -Eq '^truncate: ([1-9][0-9]*) of \1 memfds refused both$' "$work/hostile.out" || fail "a memfd could be resized"
grep -Eq '^flood: [1-9][0-9]* datagrams sent$' "$work/hostile.out" || fail "the flood did not happen"
grep -q '^scribble: ' "$work/hostile.out" || fail "the scribbling did not happen"

# The bystanders streamed all along: stopped now, every byte they got back exact.
kill -0 "$client" || fail "the bystander clients ended early: $(cat "$work/client.out")"
kill -INT "$client"
rc=0
wait "$client" || rc=$?
out=$(cat "$work/client.out")
echo "bystander clients (exit $rc): $out"
[ "$rc" = 3 ] || fail "the bystanders did not stop as interrupted"
[ "$(field verify_errors "$out")" = 0 ] || fail "the bystanders' bytes were not exact"
[ "$(field clients_failed "$out")" = 0 ] || fail "a bystander failed"
[ "$(field bytes_total "$out")" -gt 0 ] || fail "the bystanders moved nothing"
kill -0 "$stackd" || fail "the daemon died"
kill -0 "$server" || fail "the bystanders' server died"

apps=$(ctl show apps --json)
grep -Eq '"name":"hostile",[^}]*"quota_refusals":[1-9]' <<<"$apps" || fail "the hostile app's refusal is not counted: $apps"
# Nothing of the hostile app (nor of its own peers, which it took down with it) is left.
s=""
for _ in $(seq 200); do
  s=$(ctl show summary --json) || s=""
  apps=$(ctl show apps --json) || apps=""
  if [ "$(field sessions "$s")" = 0 ] && ! grep -q '"name":"hostile[^"]*","app_workers":\[[0-9]' <<<"$apps"; then break; fi
  sleep 0.1
done
[ "$(field sessions "$s")" = 0 ] || fail "sessions are left: $s"
grep -q '"name":"hostile[^"]*","app_workers":\[[0-9]' <<<"$apps" && fail "a hostile app is still attached: $apps"

# The daemon still serves a newcomer, byte-exact.
out=$(timeout 60 "$echo_bin" --attach "$sock" --role client --uri $uri --clients 2 --bytes 4m --verify --json) \
  || fail "a client after the hostile app: $out"
[ "$(field verify_errors "$out")" = 0 ] || fail "a newcomer's bytes were not exact"
kill -TERM "$server"
wait "$server" || fail "the server did not stop cleanly"
kill -TERM "$stackd"
wait "$stackd" || fail "the daemon did not stop cleanly on SIGTERM"
echo PASS
