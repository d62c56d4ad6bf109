#!/usr/bin/env bash
# Two actorstack-echo processes joined by net_memif: a udp echo server and
# clients with connected udp sessions; every echoed byte verified, nothing
# lost, nothing left; the server stops cleanly on SIGTERM and prints its
# counters; actorstack-ctl shows the same data-plane counters live.
# Then again with two data-plane cores on each side (two memif queue
# pairs): the server's listener lives on core 0, so it answers every client
# on queue 0, and the client sessions that worker 1 made on core 1 see
# their datagrams arrive on core 0 and move there (SPEC §5, for real).
#   udp_echo_memif.sh <actorstack-echo> <actorstack-ctl>
set -euo pipefail
echo_bin=$1
ctl_bin=$2
work=$(mktemp -d)
sock="$work/memif.sock"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  cat "$work/server.out" "$work/server.err" "$work/client.err" >&2 2>/dev/null || true
  exit 1
}
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
# The sum of a field over every object that has it (per-core counters).
total() { grep -o "\"$1\":[0-9]*" <<<"$2" | awk -F: '{ s += $2 } END { print s + 0 }'; }

# start_server CORES: a udp echo server on the memif socket, listening.
start_server() {
  # A stale server.err must not read as this server's (tcp_echo_memif.sh).
  rm -f "$sock" "$work/server.out" "$work/server.err"
  "$echo_bin" --uri udp://10.88.0.1/7000 --role server --port "net_memif0,role=server,socket=$sock,socket-abstract=no" \
    --ip 10.88.0.1/24 --workers 2 --cores "$1" --inspect-port 0 --json >"$work/server.out" 2>"$work/server.err" &
  server=$!
  # The client may only start once the server listens: the memif socket
  # exists as soon as the port does, but datagrams that arrive before the
  # listener is bound are (rightly) dropped as no_session.
  for _ in $(seq 400); do grep -q "udp server on" "$work/server.err" && break; sleep 0.05; done
  grep -q "udp server on" "$work/server.err" || fail "the server ($1 core(s)) never started listening"
}

# run_client CORES: 4 verified clients; every datagram echoed, nothing lost
# or left. Sets $client to its JSON.
run_client() {
  timeout 120 "$echo_bin" --uri udp://10.88.0.1/7000 --role client \
    --port "net_memif0,role=client,socket=$sock,socket-abstract=no" --ip 10.88.0.2/24 --workers 2 --cores "$1" \
    --clients 4 --bytes 2m --datagram-size 1000 --verify --json >"$work/client.out" 2>"$work/client.err" \
    || fail "client ($1 core(s)) exited non-zero: $(cat "$work/client.out")"
  client=$(cat "$work/client.out")
  echo "client ($1 core(s)): $client"
  for f in verify_errors lost sessions_left segments_left connections_left; do
    [ "$(field "$f" "$client")" = 0 ] || fail "$1 core(s): $f = $(field "$f" "$client")"
  done
  # 4 clients x ceil(2 MiB / 1000 B) datagrams, every one echoed.
  [ "$(field datagrams "$client")" = $((4 * 2098)) ] || fail "$1 core(s): datagram count"
}

start_server 1
[ -S "$sock" ] || fail "the server never created $sock"

run_client 1

# The server's data plane, as actorstack-ctl shows it while it runs.
port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.err")
[ -n "$port" ] || fail "no inspector port printed"
shown=$(timeout 20 "$ctl_bin" --port "$port" show dataplane --json)
echo "ctl: $shown"
[ "$(field udp_rx_datagrams "$shown")" = $((4 * 2098)) ] || fail "ctl shows $(field udp_rx_datagrams "$shown") datagrams in"
[ "$(field bad_checksum "$shown")" = 0 ] || fail "ctl shows checksum drops"

kill -TERM "$server"
wait "$server" || fail "server exited non-zero after SIGTERM"
srv=$(cat "$work/server.out")
echo "server: $srv"
echoed=$(field datagrams_echoed "$srv")
[ "$echoed" -ge "$(field datagrams "$client")" ] || fail "server echoed $echoed"

# --- two data-plane cores on each side ---
start_server 2
run_client 2
# Connects alternate between the two workers: the two sessions of worker 1
# moved to worker 0, their bindings to core 0.
[ "$(field migrations "$client")" = 2 ] || fail "two cores: $(field migrations "$client") migrations, 2 expected"
[ "$(total flows_taken "$client")" = 2 ] || fail "two cores: $(total flows_taken "$client") connections taken over"
[ "$(total handoff_full "$client")" = 0 ] || fail "two cores: frames lost between cores"
# No flow waited for the client's stall poke (2 s without progress).
[ "$(total stall_pokes "$client")" = 0 ] || fail "two cores: a flow stalled"
kill -TERM "$server"
wait "$server" || fail "two-core server exited non-zero after SIGTERM"
srv=$(cat "$work/server.out")
echo "two-core server: $srv"
[ "$(field datagrams_echoed "$srv")" -ge $((4 * 2098)) ] || fail "two-core server echoed too little"
echo PASS
