#!/usr/bin/env bash
# kill -9 of an attached app holding TCP connections (issue: TCP, test 6):
# actorstack-stackd owns a net_tap port; an echo server attached to it
# (libactorstack-client) listens on tcp://; kernel clients connect and get
# their bytes echoed, then the server dies by SIGKILL mid-connection. Every
# kernel peer gets a RST (ECONNRESET), and the daemon is left with no
# session, no tcp connection in any state (so no timer), no segment; a new
# server attached afterwards serves new kernel clients.
#   tcp_attached_kill.sh <actorstack-stackd> <actorstack-echo> <actorstack-ctl>
set -euo pipefail
stackd_bin=$1
echo_bin=$2
ctl_bin=$3
work=$(mktemp -d)
sock="$work/stack.sock"
iface=astcpkill$$
iface=${iface:0:15}
stack_ip=10.92.0.2
kernel_ip=10.92.0.1
uri=tcp://$stack_ip/7300
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.err "$work"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }; done
  exit 1
}
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
total() { grep -o "\"$1\":[0-9]*" <<<"$2" | awk -F: '{ s += $2 } END { print s + 0 }'; }
wait_for() {  # wait_for FILE TEXT
  for _ in $(seq 400); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "no '$2' in $1"
}

"$stackd_bin" --socket "$sock" --inspect-port 0 --port "net_tap0,iface=$iface" --ip "$stack_ip/24" \
  >"$work/stackd.out" 2>"$work/stackd.err" &
stackd=$!
pids+=("$stackd")
wait_for "$work/stackd.err" "serving apps on"
port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/stackd.err")
echo 1 >"/proc/sys/net/ipv6/conf/$iface/disable_ipv6" || true
ip addr add "$kernel_ip/24" dev "$iface"
ip link set "$iface" up

start_server() {
  # A stale server.err must not read as this server's (tcp_echo_memif.sh).
  rm -f "$work/server.out" "$work/server.err"
  "$echo_bin" --attach "$sock" --role server --uri "$uri" >"$work/server.out" 2>"$work/server.err" &
  server=$!
  pids+=("$server")
  wait_for "$work/server.err" "attached server on"
}
start_server

# Four kernel clients: each gets 64 KiB echoed, then waits for more.
python3 - "$stack_ip" 7300 "$work/ready" >"$work/kernel.out" 2>&1 <<'PY' &
import socket, sys, os, time, errno
ip, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(4):
    s = socket.create_connection((ip, port), timeout=20)
    data = bytes([i]) * 65536
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        got += s.recv(65536)
    assert got == data, "echo differs"
    socks.append(s)
open(ready, "w").write("ready")
resets = 0
for s in socks:
    s.settimeout(20)
    try:
        b = s.recv(1)
        print("got", b, "instead of a reset")
    except ConnectionResetError:
        resets += 1
print(f"resets {resets}")
PY
kernel=$!
pids+=("$kernel")
for _ in $(seq 400); do [ -f "$work/ready" ] && break; sleep 0.05; done
[ -f "$work/ready" ] || fail "the kernel clients never got their echo"
s=$(timeout 20 "$ctl_bin" --port "$port" show summary --json)
echo "before: $s"
[ "$(field tcp_connections "$s")" = 4 ] || fail "the daemon shows $(field tcp_connections "$s") tcp connections, 4 expected"

kill -9 "$server"
wait "$kernel" || fail "kernel clients: $(cat "$work/kernel.out")"
grep -q "resets 4" "$work/kernel.out" || fail "not every kernel peer saw a reset: $(cat "$work/kernel.out")"

# Nothing left: sessions, tcp connections in any state, segments.
clean=""
for _ in $(seq 100); do
  s=$(timeout 20 "$ctl_bin" --port "$port" show summary --json || true)
  d=$(timeout 20 "$ctl_bin" --port "$port" show dataplane --json || true)
  states=$(grep -o '"state_[A-Z-]*":[0-9]*' <<<"$d" | awk -F: '{ s += $2 } END { print s + 0 }')
  if [ "$(field sessions "$s")" = 0 ] && [ "$(field tcp_connections "$s")" = 0 ] && [ "$states" = 0 ]; then
    clean=yes
    break
  fi
  sleep 0.1
done
echo "after: $s"
echo "dataplane: $d"
# The listener went with the server, its sessions were reset (RST).
[ "$clean" = yes ] || fail "the daemon still holds something"
[ "$(field sessions "$s")" = 0 ] || fail "sessions left: $(field sessions "$s")"
[ "$(field tcp_connections "$s")" = 0 ] || fail "tcp connections left"
[ "$states" = 0 ] || fail "connections left in the engine: $states"
[ "$(field aborts_app_reset "$d")" = 4 ] || fail "$(field aborts_app_reset "$d") app resets counted, 4 expected"

# The daemon goes on: a new server, a new kernel client.
start_server
python3 - "$stack_ip" 7300 <<'PY' || fail "a kernel client after the kill"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.sendall(b"after the kill"); s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(100)
    if not b: break
    got += b
assert got == b"after the kill", got
PY
kill -TERM "$server"
kill -TERM "$stackd"
wait "$stackd" || fail "stackd did not stop cleanly"
echo PASS
