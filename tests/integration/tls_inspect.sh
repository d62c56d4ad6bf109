#!/usr/bin/env bash
# The inspector from another host (issue 16): inside a network namespace of
# its own, actorstack-stackd publishes its inspector on a non-loopback
# address with TLS, and actorstack-ctl reaches it there: with a
# certificate the CA signed it gets answers; without one, or with one from
# another CA, it gets nothing. A non-loopback address without TLS, and a
# key that is not the certificate's, are refused at start.
#   tls_inspect.sh <actorstack-stackd> <actorstack-ctl>
set -euo pipefail
stackd_bin=$1
ctl_bin=$2

# The outer run makes the namespace (a veth pair inside: 10.77.1.1 and
# 10.77.1.2) and runs the test again inside it, so that every process here
# is a plain child of this shell.
if [ -z "${AS_TLS_INSIDE:-}" ]; then
  ns=astls$$
  ip netns add "$ns" || { echo "skipped: no network namespaces here"; echo PASS; exit 0; }
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  ip -n "$ns" link set lo up
  ip -n "$ns" link add as-tls-a type veth peer name as-tls-b
  ip -n "$ns" addr add 10.77.1.1/24 dev as-tls-a
  ip -n "$ns" addr add 10.77.1.2/24 dev as-tls-b
  ip -n "$ns" link set as-tls-a up
  ip -n "$ns" link set as-tls-b up
  AS_TLS_INSIDE=1 ip netns exec "$ns" bash "$0" "$@"
  exit $?
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.err "$work"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}


# A CA, the daemon's and a client's certificates from it, and a rogue CA's client.
cd "$work"
cert() {  # cert NAME CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=$1" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days 2 2>/dev/null
}
for ca in ca rogue-ca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$ca.key" -out "$ca.pem" \
    -days 2 -subj "/CN=$ca" 2>/dev/null
done
cert stackd ca
cert ctl ca
cert rogue rogue-ca

# Refused at start: a non-loopback address without TLS, a key not the certificate's.
rc=0
"$stackd_bin" --socket "$work/a.sock" --inspect-port 0 --inspect-bind 10.77.1.1 2>"$work/plain.err" || rc=$?
[ "$rc" = 1 ] || fail "stackd on 10.77.1.1 without TLS: exit $rc"
grep -q "needs tls" "$work/plain.err" || fail "no reason given for refusing 10.77.1.1 without TLS"
rc=0
"$stackd_bin" --socket "$work/b.sock" --inspect-port 0 --inspect-bind 10.77.1.1 \
  --tls-cert stackd.pem --tls-key ctl.key --tls-ca ca.pem 2>"$work/badkey.err" || rc=$?
[ "$rc" = 1 ] || fail "stackd with another certificate's key: exit $rc"
grep -q "is not the key of" "$work/badkey.err" || fail "no reason given for the wrong key"

"$stackd_bin" --socket "$work/stack.sock" --inspect-port 0 --inspect-bind 10.77.1.1 \
  --tls-cert stackd.pem --tls-key stackd.key --tls-ca ca.pem >"$work/stackd.out" 2>"$work/stackd.err" &
stackd=$!
pids+=("$stackd")
for _ in $(seq 200); do grep -q "inspector on" "$work/stackd.err" && break; sleep 0.05; done
port=$(sed -n 's/.*inspector on 10.77.1.1:\([0-9]*\) (TLS).*/\1/p' "$work/stackd.err")
[ -n "$port" ] || fail "no TLS inspector on 10.77.1.1 printed"

# From the other address of the namespace, with the CA's client certificate: answers.
out=$(timeout 30 "$ctl_bin" --host 10.77.1.1 --port "$port" --timeout 10 \
      --tls-cert ctl.pem --tls-key ctl.key --tls-ca ca.pem show summary --json) || fail "ctl with a certificate: $out"
grep -q '"sessions":0' <<<"$out" || fail "no summary over TLS: $out"
echo "over TLS: $out"
# Without a certificate (plain CAF), with another CA's certificate, or on loopback: nothing.
rc=0
timeout 30 "$ctl_bin" --host 10.77.1.1 --port "$port" --timeout 5 show summary >"$work/plain.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "ctl without TLS got an answer: $(cat "$work/plain.out")"
rc=0
timeout 30 "$ctl_bin" --host 10.77.1.1 --port "$port" --timeout 5 \
  --tls-cert rogue.pem --tls-key rogue.key --tls-ca ca.pem show summary >"$work/rogue.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "ctl with another CA's certificate got an answer: $(cat "$work/rogue.out")"
rc=0
timeout 30 "$ctl_bin" --host 127.0.0.1 --port "$port" --timeout 5 \
  --tls-cert ctl.pem --tls-key ctl.key --tls-ca ca.pem show summary >"$work/loop.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the inspector also answered on loopback"
# The daemon is unharmed by the refused handshakes, and still answers.
kill -0 "$stackd" || fail "the daemon died"
timeout 30 "$ctl_bin" --host 10.77.1.1 --port "$port" --timeout 10 \
  --tls-cert ctl.pem --tls-key ctl.key --tls-ca ca.pem show apps >/dev/null || fail "no answer after the refusals"
kill -TERM "$stackd"
rc=0
wait "$stackd" || rc=$?
[ "$rc" = 0 ] || fail "the daemon did not stop cleanly (exit $rc)"
echo PASS
