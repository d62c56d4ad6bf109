# Connects to an echo server at HOST:PORT, sends 2 MiB and reads them back,
# then reads TCP_INFO of the connection and checks what a connection that
# carried data over the wire shows: ESTABLISHED, a measured round trip, an
# MSS, a congestion window, the options Linux agrees to (timestamps, SACK).
# Prints the fields.
#   tcp_info_client.py HOST PORT
import socket
import struct
import sys
import threading

host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=30)
blob = bytes(range(256)) * 8192
writer = threading.Thread(target=s.sendall, args=(blob,))
writer.start()
got = bytearray()
while len(got) < len(blob):
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    got += chunk
writer.join()
assert bytes(got) == blob, f"echo: {len(got)} bytes back, or not the same"

raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
b = struct.unpack_from("8B", raw)
u = struct.unpack_from("24I", raw, 8)
state, options = b[0], b[5]
rto, snd_mss, rcv_mss, rtt, rttvar, snd_cwnd, total_retrans = u[0], u[2], u[3], u[15], u[16], u[18], u[23]
print(f"TCP_INFO: state {state}, rtt {rtt} us (var {rttvar}), rto {rto} us, mss {snd_mss}/{rcv_mss}, "
      f"cwnd {snd_cwnd} segments, options {options:#x}, {total_retrans} segments sent again")
assert state == 1, state  # TCP_ESTABLISHED
assert rtt > 0, rtt
assert rto >= 200000, rto
assert 500 <= snd_mss <= 1460 and 500 <= rcv_mss <= 1460, (snd_mss, rcv_mss)
assert snd_cwnd >= 1, snd_cwnd
assert options & 1 and options & 2, options  # TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK
s.close()
