#!/usr/bin/env bash
# Two actorstack-echo processes joined by net_memif, TCP stack to stack
# (issue: TCP, test 4): an echo server and 8 clients, every echoed byte
# verified, nothing left on either side; the server stops cleanly on
# SIGTERM; actorstack-ctl reads the server's TCP counters live. First with
# one data-plane core each, then with two each, where the client's
# connections live on the core their local port names (SPEC-TCP 1.2);
# then once more through 2 % loss, 2 % reordering and 1 % duplication.
#   tcp_echo_memif.sh <actorstack-echo> <actorstack-ctl>
set -euo pipefail
echo_bin=$1
ctl_bin=$2
work=$(mktemp -d)
sock="$work/memif.sock"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  cat "$work/server.out" "$work/server.err" "$work/client.err" >&2 2>/dev/null || true
  exit 1
}
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
total() { grep -o "\"$1\":[0-9]*" <<<"$2" | awk -F: '{ s += $2 } END { print s + 0 }'; }

start_server() {
  # A stale server.err from the last run must not read as this one's
  # (bash truncates it only once the child runs: the first grep could
  # see the old "tcp server on").
  rm -f "$sock" "$work/server.out" "$work/server.err"
  "$echo_bin" --uri tcp://10.87.0.1/7000 --role server --port "net_memif0,role=server,socket=$sock,socket-abstract=no" \
    --ip 10.87.0.1/24 --workers 2 --cores "$1" --inspect-port 0 --json >"$work/server.out" 2>"$work/server.err" &
  server=$!
  for _ in $(seq 400); do grep -q "tcp server on" "$work/server.err" && break; sleep 0.05; done
  grep -q "tcp server on" "$work/server.err" || fail "the server ($1 core(s)) never started listening"
}

# run_client CORES [IMPAIR]
run_client() {
  timeout 120 "$echo_bin" --uri tcp://10.87.0.1/7000 --role client \
    --port "net_memif0,role=client,socket=$sock,socket-abstract=no" --ip 10.87.0.2/24 --workers 2 --cores "$1" \
    --clients 8 --bytes 8m --verify --json ${2:+--impair "$2"} >"$work/client.out" 2>"$work/client.err" \
    || fail "client ($1 core(s)) exited non-zero: $(cat "$work/client.out")"
  client=$(cat "$work/client.out")
  echo "client ($1 core(s)): $client"
  for f in verify_errors connect_failures sessions_left connections_left segments_left; do
    [ "$(field "$f" "$client")" = 0 ] || fail "$1 core(s): $f = $(field "$f" "$client")"
  done
  [ "$(field bytes_total "$client")" = $((8 * 8 * 1024 * 1024)) ] || fail "$1 core(s): bytes_total"
  [ "$(total active_opens "$client")" = 8 ] || fail "$1 core(s): $(total active_opens "$client") active opens"
}

stop_server() {
  kill -TERM "$server"
  wait "$server" || fail "server exited non-zero after SIGTERM"
  server=""
  srv=$(cat "$work/server.out")
  echo "server: $srv"
  [ "$(total passive_opens "$srv")" = 8 ] || fail "the server opened $(total passive_opens "$srv") connections"
}

start_server 1
run_client 1
port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.err")
[ -n "$port" ] || fail "no inspector port printed"
shown=$(timeout 20 "$ctl_bin" --port "$port" show dataplane --json)
echo "ctl: $shown"
[ "$(field passive_opens "$shown")" = 8 ] || fail "ctl shows $(field passive_opens "$shown") passive opens"
[ "$(field bad_checksum "$shown")" = 0 ] || fail "ctl shows checksum drops"
stop_server

start_server 2
run_client 2
# Each client core opened the connections of its own ports, 4 each.
for c in 0 1; do
  n=$(grep -o '"core":'$c',[^]]*' <<<"$client" | grep -o '"active_opens":[0-9]*' | head -1 | cut -d: -f2)
  [ "$n" = 4 ] || fail "two cores: client core $c opened ${n:-?} connections, 4 expected"
done
stop_server

# Faults on the client's frames both ways (SPEC-TCP 8): every byte still
# arrives once, in order; the losses were repaired by retransmission.
start_server 1
run_client 1 "loss=2%,reorder=2%,dup=1%,seed=11"
retx=$(( $(total retransmits_fast "$client") + $(total retransmits_timeout "$client") ))
[ "$retx" -gt 0 ] || fail "through 2 % loss the client retransmitted nothing"
[ "$(total rx_dropped "$client")" -gt 0 ] || fail "the impairment stage dropped nothing"
stop_server
echo PASS
