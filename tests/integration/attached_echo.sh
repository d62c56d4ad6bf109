#!/usr/bin/env bash
# Three processes: actorstack-stackd, an echo server and echo clients
# attached to it through libactorstack-client (issue: applications in their
# own processes). Verified echo with 1 and 100 clients; kill -9 of a client
# mid-transfer, then of the server: the survivors see close/reset, and
# actorstack-ctl shows every session and ct segment gone; the daemon keeps
# serving and stops cleanly on SIGTERM. The servers run two app workers
# (worker add): both share the listener, both serve.
#   attached_echo.sh <actorstack-stackd> <actorstack-echo> <actorstack-ctl>
set -euo pipefail
stackd_bin=$1
echo_bin=$2
ctl_bin=$3
work=$(mktemp -d)
sock="$work/stack.sock"
uri=ct://127.0.0.1/7000
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.err "$work"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }; done
  exit 1
}
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
wait_for() {  # wait_for FILE TEXT
  for _ in $(seq 400); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "no '$2' in $1"
}
# A generous --timeout: under sanitizers and a loaded machine the inspector
# (which asks every worker and app) once took more than ctl's default 5 s
# while an app was being reaped; the test is about what is left, not speed.
summary() { timeout 40 "$ctl_bin" --port "$port" --timeout 30 show summary --json; }
# Waits until the stack holds no session (listeners excluded) and no ct segment.
wait_clean() {
  local s=""
  for _ in $(seq 100); do
    s=$(summary) || s=""  # no answer yet: ask again
    [ "$(field sessions "$s")" = 0 ] && [ "$(field ct_segments "$s")" = 0 ] && { echo "clean: $s"; return 0; }
    sleep 0.1
  done
  fail "$1: the stack still holds something: $s"
}
# Starts `clients` clients that would echo for ever (64 GiB each) and waits
# until the stack shows both ends of each: start_endless_clients NAME COUNT
start_endless_clients() {
  "$echo_bin" --attach "$sock" --role client --uri $uri --clients "$2" --bytes 64g --no-verify --json \
    >"$work/$1.out" 2>"$work/$1.err" &
  endless=$!
  pids+=("$endless")
  local s=""
  for _ in $(seq 200); do
    s=$(summary)
    [ "$(field sessions "$s")" = $((2 * $2)) ] && return 0
    sleep 0.05
  done
  fail "the $1 clients' sessions never showed: $s"
}
start_server() {
  # A stale server.err must not read as this server's (tcp_echo_memif.sh).
  rm -f "$work/server.out" "$work/server.err"
  "$echo_bin" --attach "$sock" --role server --uri $uri --workers 2 >"$work/server.out" 2>"$work/server.err" &
  server=$!
  pids+=("$server")
  wait_for "$work/server.err" "attached server"
}

"$stackd_bin" --socket "$sock" --inspect-port 0 --workers 2 >"$work/stackd.out" 2>"$work/stackd.err" &
stackd=$!
pids+=("$stackd")
wait_for "$work/stackd.err" "serving apps"
port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/stackd.err")
[ -n "$port" ] || fail "no inspector port printed"
start_server
# Over the daemon's Unix socket (no port needed), and the same view over
# the published inspector.
apps=$(timeout 40 "$ctl_bin" --socket "$sock" --timeout 30 show apps --json) || fail "ctl --socket: no answer"
apps_by_port=$(timeout 40 "$ctl_bin" --port "$port" --timeout 30 show apps --json)
[ "$apps" = "$apps_by_port" ] || fail "ctl over the socket and over the port disagree: $apps vs $apps_by_port"
grep -q '"name":"echo-server","app_workers":\[[0-9]*,[0-9]*\],"workers":2' <<<"$apps" \
  || fail "the server's two app workers are not both attached: $apps"

# 1 and 100 clients, every byte verified, nothing left on the client side.
for n in 1 100; do
  bytes=4m; [ $n = 100 ] && bytes=256k
  out=$(timeout 120 "$echo_bin" --attach "$sock" --role client --uri $uri --clients $n --bytes $bytes --verify --json \
        2>"$work/client.err") || fail "$n client(s): exit non-zero: $out"
  echo "client x$n: $out"
  [ "$(field verify_errors "$out")" = 0 ] || fail "verify errors"
  [ "$(field clients_done "$out")" = $n ] || fail "clients done"
  [ "$(field sessions_left "$out")" = 0 ] || fail "sessions left in the client"
  [ "$(field segments_left "$out")" = 0 ] || fail "segments left in the client"
  wait_clean "after $n client(s)"
done

# kill -9 of a client mid-transfer: the server sees the reset (its session
# ends), the stack reclaims every session and segment, the server lives on.
start_endless_clients victim 4
sleep 0.5
kill -9 "$endless"
wait_clean "after kill -9 of a client"
grep -q "process is gone\|hung up" "$work/stackd.err" || fail "the daemon did not log the app's death"
kill -0 "$server" || fail "the server died with its client"
out=$(timeout 60 "$echo_bin" --attach "$sock" --role client --uri $uri --clients 2 --bytes 1m --verify --json) \
  || fail "a client after the kill: $out"
echo "client after kill: $out"

# kill -9 of the server mid-transfer: the clients see the reset and exit
# (non-zero, they did not get everything back), nothing is left.
start_endless_clients orphan 3
orphan=$endless
sleep 0.5
kill -9 "$server"
rc=0
timeout 30 tail --pid="$orphan" -f /dev/null || fail "the clients did not notice the server's death"
wait "$orphan" || rc=$?
[ "$rc" != 0 ] || fail "the clients reported success without their echo"
echo "clients after the server's death: $(cat "$work/orphan.out")"
[ "$(field clients_failed "$(cat "$work/orphan.out")")" = 3 ] || fail "every client should have failed"
wait_clean "after kill -9 of the server"
s=$(summary)
[ "$(field listeners "$s")" = 0 ] || fail "the dead server's listener is still there: $s"
# No app is left, so no segment context either (they retire with their apps).
for _ in $(seq 50); do s=$(summary); [ "$(field ct_contexts "$s")" = 0 ] && break; sleep 0.1; done
[ "$(field ct_contexts "$s")" = 0 ] || fail "segment contexts outlived their apps: $s"

# The daemon still serves: a new server and clients work, and the
# server's two workers took turns (4 connections: 2 each).
start_server
out=$(timeout 60 "$echo_bin" --attach "$sock" --role client --uri $uri --clients 4 --bytes 1m --verify --json) \
  || fail "clients after the server's death: $out"
kill -TERM "$server"
wait "$server" || fail "the server did not stop cleanly on SIGTERM"
echo "server: $(cat "$work/server.out")"
grep -q '"accepted_per_worker":\[2,2\]' "$work/server.out" || fail "the server's workers did not take turns"
kill -TERM "$stackd"
wait "$stackd" || fail "the daemon did not stop cleanly on SIGTERM"
[ ! -e "$sock" ] || fail "the daemon left its socket file behind"
echo PASS
