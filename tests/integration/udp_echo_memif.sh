#!/usr/bin/env bash
# Two actorstack-echo processes joined by net_memif: a udp echo server and
# clients with connected udp sessions; every echoed byte verified, nothing
# lost, nothing left; the server stops cleanly on SIGTERM and prints its
# counters; actorstack-ctl shows the same data-plane counters live.
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

"$echo_bin" --uri udp://10.88.0.1/7000 --role server --port "net_memif0,role=server,socket=$sock,socket-abstract=no" \
  --ip 10.88.0.1/24 --workers 2 --inspect-port 0 --json >"$work/server.out" 2>"$work/server.err" &
server=$!
# The client may only start once the server listens: the memif socket exists
# as soon as the port does, but datagrams that arrive before the listener is
# bound are (rightly) dropped as no_session.
for _ in $(seq 400); do grep -q "udp server on" "$work/server.err" && break; sleep 0.05; done
grep -q "udp server on" "$work/server.err" || fail "the server never started listening"
[ -S "$sock" ] || fail "the server never created $sock"

timeout 120 "$echo_bin" --uri udp://10.88.0.1/7000 --role client \
  --port "net_memif0,role=client,socket=$sock,socket-abstract=no" --ip 10.88.0.2/24 --workers 2 \
  --clients 4 --bytes 2m --datagram-size 1000 --verify --json >"$work/client.out" 2>"$work/client.err" \
  || fail "client exited non-zero: $(cat "$work/client.out")"
client=$(cat "$work/client.out")
echo "client: $client"
[ "$(field verify_errors "$client")" = 0 ] || fail "verify errors"
[ "$(field lost "$client")" = 0 ] || fail "datagrams lost"
[ "$(field sessions_left "$client")" = 0 ] || fail "sessions left"
[ "$(field segments_left "$client")" = 0 ] || fail "segments left"
[ "$(field connections_left "$client")" = 0 ] || fail "connections left"
# 4 clients x ceil(2 MiB / 1000 B) datagrams, every one echoed.
[ "$(field datagrams "$client")" = $((4 * 2098)) ] || fail "datagram count"

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
echo PASS
