#!/usr/bin/env bash
# The raw baseline of the data-plane benches (bench/raw_echo.hpp) works:
# a bare DPDK echo and generator over a net_memif pair in two processes
# bring frames back — whole ones, and trimmed to a header when asked (the
# bulk case) — and the generator reports a rate. Rates are not asserted
# (timings never are); a generator that got nothing back, a malformed
# line, or an echo side that does not end on SIGTERM fail.
#
#   raw_echo.sh <a bench binary: actorstack-bench-udp or actorstack-bench-tcp>
set -u
bench=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
server= client=
cleanup() {
  for pid in $server $client; do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

ends_on_term() {  # ends_on_term PID WHAT: SIGTERM ends it within 5 s, exit 0
  kill -TERM "$1"
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$1" 2>/dev/null && fail "$2 still running 5 s after SIGTERM"
  wait "$1" || fail "$2 exited $?"
}

run_case() {  # run_case HEADER PAYLOAD WINDOW REPLY
  local sock=$tmp/raw.sock
  rm -f "$sock" "$tmp/out" "$tmp/server.err"  # no stale "ready" from the last case
  "$bench" --raw-echo server "$sock" "$@" 0.2 2>"$tmp/server.err" &
  server=$!
  for _ in $(seq 200); do grep -q "raw echo ready" "$tmp/server.err" && break; sleep 0.05; done
  grep -q "raw echo ready" "$tmp/server.err" || fail "echo side never ready ($*): $(cat "$tmp/server.err")"
  "$bench" --raw-echo client "$sock" "$@" 0.2 >"$tmp/out" 2>"$tmp/client.err" &
  client=$!
  for _ in $(seq 600); do [ -n "$(cat "$tmp/out")" ] && break; sleep 0.05; done
  read -r rate lost <"$tmp/out" || fail "no result line ($*): $(cat "$tmp/client.err")"
  [[ $rate =~ ^[0-9]+\.[0-9]+$ && $lost =~ ^[0-9]+$ ]] || fail "malformed result '$(cat "$tmp/out")' ($*)"
  awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "no frame came back ($*): rate $rate, lost $lost"
  # The echo side first: the generator waits connected and idle (raw_echo.cpp).
  ends_on_term "$server" "echo side ($*)"
  server=
  ends_on_term "$client" "generator ($*)"
  client=
  echo "ok: header $1 payload $2 window $3 reply $4: $rate round trips/s, $lost lost"
}

run_case 42 64 4096 0     # udp pps_64
run_case 42 1400 1024 0   # udp gbps_1400
run_case 66 64 1 0        # tcp rr_64_1
run_case 66 1448 256 66   # tcp bulk: bare headers back

# Bad sides refused with exit code 2: no window, a frame past 1514 bytes, a
# reply shorter than the headers.
for bad in "42 64 0 0" "66 1460 1 0" "42 64 1 10"; do
  # shellcheck disable=SC2086
  "$bench" --raw-echo client "$tmp/none.sock" $bad 0.2 >/dev/null 2>&1
  rc=$?
  [ "$rc" = 2 ] || fail "bad side '$bad' exited $rc, not 2"
done
echo PASS
