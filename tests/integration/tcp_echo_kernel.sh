#!/usr/bin/env bash
# actorstack-echo over tcp:// on a net_tap port, with the Linux kernel as
# the peer (issue: TCP). Every byte is checked on both sides.
#  1. kernel clients -> the stack's echo server: sizes 0, 1, 1460, 1461,
#     65537 and 4 MiB + 1, each sent then half-closed (shutdown SHUT_WR):
#     the server echoes the rest and closes its side (SPEC-TCP 2.3);
#  2. while a kernel client holds a connection, actorstack-ctl shows it as
#     a [T] session in ESTABLISHED (SPEC-TCP 9.2) and the listener in LISTEN,
#     and `show dataplane` that arriving bytes went straight to the app;
#  3. the stack's echo clients (4, 2 MiB each) -> a kernel echo server,
#     then 8 clients on two data-plane cores (SPEC-TCP 1.2);
#  4. a connect to a closed kernel port fails `refused` (SPEC-TCP 2.2).
#   tcp_echo_kernel.sh <actorstack-echo> <actorstack-ctl>
set -euo pipefail
echo_bin=$1
ctl_bin=$2
work=$(mktemp -d)
iface=astcpk$$
iface=${iface:0:15}
server=""
helper=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$helper" ] && kill "$helper" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  cat "$work"/*.out "$work"/*.err >&2 2>/dev/null || true
  exit 1
}
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
stack_ip=10.91.0.2
kernel_ip=10.91.0.1

# The kernel side of the tap: our address, no IPv6 chatter.
kernel_side() {
  for _ in $(seq 200); do ip link show "$iface" >/dev/null 2>&1 && break; sleep 0.05; done
  ip link show "$iface" >/dev/null 2>&1 || fail "no $iface"
  echo 1 >"/proc/sys/net/ipv6/conf/$iface/disable_ipv6" || true
  ip addr add "$kernel_ip/24" dev "$iface" 2>/dev/null || true
  ip link set "$iface" up
}

# --- 1. kernel clients -> stack echo server -----------------------------------
"$echo_bin" --uri "tcp://$stack_ip/7100" --role server --port "net_tap0,iface=$iface" --ip "$stack_ip/24" \
  --inspect-port 0 --json >"$work/server.out" 2>"$work/server.err" &
server=$!
for _ in $(seq 400); do grep -q "tcp server on" "$work/server.err" && break; sleep 0.05; done
grep -q "tcp server on" "$work/server.err" || fail "the server never listened"
kernel_side

python3 - "$stack_ip" 7100 <<'EOF' || fail "kernel clients against the stack's echo server"
import socket, sys, hashlib
ip, port = sys.argv[1], int(sys.argv[2])
def pattern(n, seed):
    out = bytearray(n)
    x = seed * 2654435761 % 2**32 or 1
    for i in range(n):
        x ^= (x << 13) & 0xffffffff; x ^= x >> 17; x ^= (x << 5) & 0xffffffff
        out[i] = x & 0xff
    return bytes(out)
for n in (0, 1, 1460, 1461, 65537, 4 * 1024 * 1024 + 1):
    data = pattern(min(n, 1 << 16), n)
    data = (data * (n // len(data) + 1))[:n] if n else b""
    for attempt in range(3):
        try:
            s = socket.create_connection((ip, port), timeout=30)
            break
        except OSError as e:  # the first SYN may race ARP on a fresh tap
            if attempt == 2: raise
    s.settimeout(60)
    got = bytearray()
    import threading
    def writer():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=writer); t.start()
    while True:
        b = s.recv(1 << 16)
        if not b: break
        got += b
    t.join()
    s.close()
    if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
        print(f"size {n}: got {len(got)} bytes back, not the same", file=sys.stderr); sys.exit(1)
    print(f"size {n}: echoed byte-exact")
EOF

# --- 2. show sessions while a connection is held ---------------------------------
port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.err")
[ -n "$port" ] || fail "no inspector port printed"
python3 -c "
import socket, time
s = socket.create_connection(('$stack_ip', 7100), timeout=10)
time.sleep(30)
" &
helper=$!
shown=""
for _ in $(seq 50); do
  shown=$(timeout 20 "$ctl_bin" --port "$port" show sessions 2>&1 || true)
  grep -q "ESTABLISHED" <<<"$shown" && break
  sleep 0.1
done
echo "$shown"
grep -q "\]\[T\] $stack_ip:7100->$kernel_ip:[0-9]* ESTABLISHED" <<<"$shown" || fail "show sessions has no ESTABLISHED tcp session"
grep -q "\]\[T\] $stack_ip:7100->\*:0 LISTEN" <<<"$shown" || fail "show sessions has no tcp listener"
kill "$helper" 2>/dev/null || true
wait "$helper" 2>/dev/null || true
helper=""
# The echo server's bytes arrived through its app worker's rx inbox, not
# its session worker (docs/architecture.md §6).
shown=$(timeout 20 "$ctl_bin" --port "$port" show dataplane 2>&1 || true)
grep -q "tcp rx told straight to app workers [1-9]" <<<"$shown" || fail "no tcp rx went straight to the app worker: $shown"

kill -TERM "$server"
wait "$server" || fail "server exited non-zero after SIGTERM"
server=""
srv=$(cat "$work/server.out")
echo "server: $srv"
[ "$(field connections_accepted "$srv")" -ge 7 ] || fail "the server accepted too few connections"

# --- 3. stack clients -> kernel echo server ------------------------------------------
# Bound to the wildcard: it listens before the tap (and its address) exists.
python3 - 7101 >"$work/kserver.out" 2>&1 <<'EOF' &
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1])))
srv.listen(64)
print("listening", flush=True)
def echo(c):
    while True:
        b = c.recv(1 << 16)
        if not b: break
        c.sendall(b)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
EOF
helper=$!
for _ in $(seq 100); do grep -q listening "$work/kserver.out" && break; sleep 0.05; done
# The tap exists only while a stack runs: its address comes once the
# client's port is up (a first SYN that finds no ARP answer is sent again).
timeout 120 "$echo_bin" --uri "tcp://$kernel_ip/7101" --role client --port "net_tap0,iface=$iface" \
  --ip "$stack_ip/24" --clients 4 --bytes 2m --verify --json >"$work/client.out" 2>"$work/client.err" &
client=$!
kernel_side
wait "$client" || fail "the stack's clients failed: $(cat "$work/client.out")"
out=$(cat "$work/client.out")
echo "client: $out"
for f in verify_errors connect_failures sessions_left connections_left segments_left; do
  [ "$(field "$f" "$out")" = 0 ] || fail "$f = $(field "$f" "$out")"
done
[ "$(field bytes_total "$out")" = $((4 * 2 * 1024 * 1024)) ] || fail "bytes_total"
# Two data-plane cores: the kernel answers on whichever tap queue it
# likes; a segment that reaches the other core is handed to the one its
# local port names (SPEC-TCP 1.2).
timeout 120 "$echo_bin" --uri "tcp://$kernel_ip/7101" --role client --port "net_tap0,iface=$iface" \
  --ip "$stack_ip/24" --cores 2 --workers 2 --clients 8 --bytes 1m --verify --json >"$work/client.out" \
  2>"$work/client.err" &
client=$!
kernel_side
wait "$client" || fail "the stack's clients on two cores failed: $(cat "$work/client.out")"
out=$(cat "$work/client.out")
echo "client, two cores: $out"
for f in verify_errors connect_failures sessions_left connections_left segments_left; do
  [ "$(field "$f" "$out")" = 0 ] || fail "two cores: $f = $(field "$f" "$out")"
done
[ "$(field bytes_total "$out")" = $((8 * 1024 * 1024)) ] || fail "two cores: bytes_total"
kill "$helper" 2>/dev/null || true
helper=""

# --- 4. a closed kernel port: refused ---------------------------------------------------
set +e
timeout 60 "$echo_bin" --uri "tcp://$kernel_ip/7199" --role client --port "net_tap0,iface=$iface" \
  --ip "$stack_ip/24" --clients 1 --bytes 1k --json >"$work/refused.out" 2>"$work/refused.err" &
client=$!
kernel_side
wait "$client"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a connect to a closed port exited $rc"
grep -q "connect failed: refused" "$work/refused.err" || fail "no 'refused': $(cat "$work/refused.err")"
echo PASS
