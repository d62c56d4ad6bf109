"""UDP over the preload (issue: preload library, datagram sockets).

  udp_peer.py server READY_FILE ADDR PORT
      echoes every datagram to its sender (epoll through selectors) until
      one says b"stop"; writes READY_FILE once bound.
  udp_peer.py client ADDR PORT COUNT
      sends COUNT datagrams of every size from 0 to 1472 bytes, each with
      its own pattern, one at a time, and checks each echo: unconnected
      (sendto/recvfrom), then connected (connect/send/recv), then a
      datagram larger than the reader's buffer (MSG_TRUNC), then
      recvmsg/sendmsg; says what it did.
Lost datagrams are sent again (at most 3 times each) and counted: the
test asserts every payload came back exactly as sent.
"""
import os
import selectors
import socket
import sys


def server(ready, addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    assert s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM
    with open(ready, "w") as f:
        f.write(str(s.getsockname()[1]))
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    n = 0
    while True:
        for _key, _ev in sel.select():
            data, peer = s.recvfrom(65536)
            if data == b"stop":
                s.sendto(b"stopped", peer)
                print(f"server: echoed {n} datagrams", flush=True)
                return
            s.sendto(data, peer)
            n += 1


def payload(i):
    size = (i * 37) % 1473
    return bytes((i + k) % 251 for k in range(size))


def exchange(send, recv, data, resent):
    for _ in range(4):
        send(data)
        try:
            got = recv()
        except socket.timeout:
            resent[0] += 1
            continue
        if got != data:
            raise SystemExit(f"echo differs: sent {len(data)} bytes, got {len(got)}")
        return
    raise SystemExit(f"no echo for a {len(data)}-byte datagram after 4 tries")


def client(addr, port, count):
    peer = (addr, port)
    resent = [0]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for i in range(count):
        exchange(lambda d: s.sendto(d, peer), lambda: s.recvfrom(2048)[0], payload(i), resent)
    local = s.getsockname()
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(2)
    c.connect(peer)
    assert c.getpeername() == peer, c.getpeername()
    for i in range(count):
        exchange(c.send, lambda: c.recv(2048), payload(count + i), resent)
    # Longer than the buffer: the rest is dropped, and recvmsg says so.
    c.send(b"t" * 1000)
    data, _anc, flags, _src = c.recvmsg(100)
    assert len(data) == 100 and flags & socket.MSG_TRUNC, (len(data), flags)
    m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    m.settimeout(2)
    m.sendmsg([b"scatter", b"-", b"gather"], [], 0, peer)
    data, _anc, flags, src = m.recvmsg(2048)
    assert data == b"scatter-gather" and src == peer, (data, src)
    s.sendto(b"stop", peer)
    while s.recvfrom(2048)[0] != b"stopped":
        pass
    print(f"client: {2 * count} datagrams of 0..1472 bytes echoed byte-exact from {local[0]} "
          f"(unconnected and connected), truncation and sendmsg/recvmsg as Linux; {resent[0]} resent", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
