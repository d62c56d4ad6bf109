#!/usr/bin/env python3
"""The client half of the preload semantics test: each check names the Linux
behaviour it holds the preload to, and fails loudly. Run under actorstack-run
against peer_server.py's ports (PORTFILE)."""
import errno
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import termios
import time

ports = dict(kv.split("=") for kv in open(sys.argv[1]).read().split())
ports = {k: int(v) for k, v in ports.items()}
checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)
    checks += 1
    print(f"ok: {what}", flush=True)


def connect(role):
    return socket.create_connection(("127.0.0.1", ports[role]), timeout=10)


# Names: both ends agree, the listener's port came from bind(port 0).
c = connect("echo")
local, peer = c.getsockname(), c.getpeername()
check(peer == ("127.0.0.1", ports["echo"]), f"getpeername names the listener: {peer}")
check(local[0] == "127.0.0.1" and local[1] != 0, f"getsockname names a local port: {local}")
check(c.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM, "SO_TYPE is SOCK_STREAM")
check(c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR is 0 when connected")
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
check(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1, "TCP_NODELAY reads back")

# Half-close: the server sees end of stream after our bytes, answers, closes.
payload = os.urandom(300_000)
c.sendall(payload)
c.shutdown(socket.SHUT_WR)
try:
    c.send(b"x")
    check(False, "send after shutdown(SHUT_WR) fails")
except BrokenPipeError:
    check(True, "send after shutdown(SHUT_WR) fails with EPIPE")
answer = b""
while True:
    d = c.recv(100)
    if not d:
        break
    answer += d
check(answer == f"got {len(payload)}".encode(), f"half-close: the server counted every byte, then answered: {answer!r}")
check(c.recv(10) == b"", "end of stream stays end of stream")
c.close()

# Orderly end of stream reads as b"" (not an error).
c = connect("hello")
time.sleep(0.2)
buf = bytearray(16)
fcntl.ioctl(c.fileno(), termios.FIONREAD, buf)
check(struct.unpack("i", buf[:4])[0] == 5, "FIONREAD counts the queued bytes")
check(c.recv(2, socket.MSG_PEEK) == b"he", "MSG_PEEK copies without consuming")
check(c.recv(100) == b"hello", "the data, then ...")
check(c.recv(100) == b"", "... end of stream after the peer's close")
c.close()

# A reset never reads as a clean end of stream.
c = connect("reset")
c.sendall(b"!")
try:
    while c.recv(100):
        pass
    check(False, "recv after the peer's reset raises ECONNRESET")
except ConnectionResetError:
    check(True, "recv after the peer's reset raises ECONNRESET")
c.close()

# Refused: blocking and non-blocking connects to a port nobody listens on.
dead = socket.socket()
dead.bind(("127.0.0.1", 0))
dead_port = dead.getsockname()[1]
dead.close()
s = socket.socket()
try:
    s.connect(("127.0.0.1", dead_port))
    check(False, "a blocking connect to a closed port is refused")
except ConnectionRefusedError:
    check(True, "a blocking connect to a closed port is refused (ECONNREFUSED)")
s.close()
s = socket.socket()
s.setblocking(False)
rc = s.connect_ex(("127.0.0.1", dead_port))
check(rc == errno.EINPROGRESS, f"a non-blocking connect says EINPROGRESS ({errno.errorcode.get(rc, rc)})")
_, w, _ = select.select([], [s], [], 5)
check(w == [s], "select reports the failed connect as writable")
check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED, "SO_ERROR says ECONNREFUSED")
s.close()

# SO_RCVTIMEO: a blocking read gives up with EAGAIN after the timeout.
c = connect("echo")
c.settimeout(None)  # blocking in the kernel's sense (python's own timeouts poll)
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200_000))
check(struct.unpack("ll", c.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)) == (0, 200_000), "SO_RCVTIMEO reads back")
try:
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 1_000_000))
    check(False, "SO_RCVTIMEO with tv_usec 1000000 is refused")
except OSError as e:
    check(e.errno == errno.EDOM, f"SO_RCVTIMEO with tv_usec 1000000 is refused with EDOM ({errno.errorcode.get(e.errno)})")
start = time.monotonic()
try:
    c.recv(10)
    check(False, "a read past SO_RCVTIMEO raises EAGAIN")
except BlockingIOError:
    waited = time.monotonic() - start
    check(0.15 <= waited < 5, f"a read past SO_RCVTIMEO raises EAGAIN after {waited:.2f} s")
c.close()

# Non-blocking reads: EAGAIN, then poll over a stack socket and a pipe together.
c = connect("echo")
c.setblocking(False)
try:
    c.recv(10)
    check(False, "a non-blocking recv with nothing queued raises EAGAIN")
except BlockingIOError:
    check(True, "a non-blocking recv with nothing queued raises EAGAIN")
r, w = os.pipe()
p = select.poll()
p.register(c, select.POLLIN)
p.register(r, select.POLLIN)
check(p.poll(100) == [], "poll over a stack socket and a pipe times out while neither is ready")
os.write(w, b"k")
check([fd for fd, _ in p.poll(1000)] == [r], "poll wakes for the pipe (a kernel fd) beside the stack socket")
os.read(r, 1)

# Edge-triggered epoll: one event per arrival, again after a drain.
ep = select.epoll()
ep.register(c.fileno(), select.EPOLLIN | select.EPOLLET)
c2 = connect("hello")
c2.setblocking(False)
ep.register(c2.fileno(), select.EPOLLIN | select.EPOLLET)
ev = ep.poll(2)
check((c2.fileno(), select.EPOLLIN) in [(fd, e & select.EPOLLIN) for fd, e in ev], "EPOLLET reports new data")
check(ep.poll(0.2) == [], "EPOLLET does not report it again before a drain")
data = b""
while True:
    try:
        d = c2.recv(100)
    except BlockingIOError:
        break
    if not d:
        break
    data += d
check(data == b"hello", "the edge's data read in full")
ep.close()
c2.close()

# dup: both numbers name one socket; closing one leaves the other working.
c.setblocking(True)
d = c.dup()
d.sendall(b"abc")
d.close()
c.shutdown(socket.SHUT_WR)
check(c.recv(100) == b"got 3", "a dup'd fd writes to the same session, closing it keeps the session")
c.close()

# fork: a child that uses an inherited socket gets EBADF (and a line on
# stderr); its parent's socket goes on working.
s = connect("hello")
pid = os.fork()
if pid == 0:
    try:
        s.recv(10)
        os._exit(1)
    except OSError as e:
        os._exit(0 if e.errno == errno.EBADF else 2)
_, status = os.waitpid(pid, 0)
check(os.WEXITSTATUS(status) == 0, f"a forked child's use of an inherited socket fails with EBADF ({os.WEXITSTATUS(status)})")
check(s.recv(100) == b"hello", "the parent's socket still works after the fork")
s.close()

# exec: a child the program runs is preloaded too (LD_PRELOAD is in its
# environment) and attaches as an app of its own.
child = subprocess.run(
    [sys.executable, "-c",
     "import socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1])));"
     " s.sendall(b'abcd'); s.shutdown(socket.SHUT_WR); print(s.recv(100).decode())",
     str(ports["echo"])], capture_output=True, text=True, timeout=30)
check(child.returncode == 0 and child.stdout.strip() == "got 4",
      f"an exec'ed child is on the stack too: {child.stdout.strip()!r} {child.stderr.strip()[-200:]!r}")

# bind() before connect(): the connection leaves from that port, as Linux's
# does (getsockname names it; the port is the app's, not one the stack
# made up).
for attempt in range(20):
    chosen = 20000 + (os.getpid() * 7 + attempt * 131) % 10000
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", chosen))
        b.connect(("127.0.0.1", ports["echo"]))
        break
    except OSError:
        b.close()
check(b.getsockname() == ("127.0.0.1", chosen), f"bind before connect: the connection leaves from the bound port {b.getsockname()}")
b.sendall(b"bound")
b.shutdown(socket.SHUT_WR)
check(b.recv(100) == b"got 5", "... and carries data")
b.close()

# SO_REUSEPORT: two listening sockets on one address, as Linux allows
# with the option on both; connections reach either (here they share one
# backlog), and the port stays open while one of them does. Without the
# option the second bind's listen is refused.
r1 = socket.socket()
r1.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
r1.bind(("127.0.0.1", 0))
r1.listen()
rport = r1.getsockname()[1]
r2 = socket.socket()
r2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
r2.bind(("127.0.0.1", rport))
r2.listen()
check(r2.getsockname() == r1.getsockname(), "SO_REUSEPORT: a second socket listens on the same address")
c1 = socket.create_connection(("127.0.0.1", rport), timeout=10)
c2 = socket.create_connection(("127.0.0.1", rport), timeout=10)
a1, _ = r1.accept()
a2, _ = r2.accept()
c1.sendall(b"1")
c2.sendall(b"2")
check(sorted([a1.recv(1), a2.recv(1)]) == [b"1", b"2"], "... each accepts a connection")
r1.close()
c3 = socket.create_connection(("127.0.0.1", rport), timeout=10)
a3, _ = r2.accept()
c3.sendall(b"3")
check(a3.recv(1) == b"3", "... and the port stays open while the other listens")
for x in (c1, c2, c3, a1, a2, a3, r2):
    x.close()
n1 = socket.socket()
n1.bind(("127.0.0.1", 0))
n1.listen()
n2 = socket.socket()
try:
    n2.bind(("127.0.0.1", n1.getsockname()[1]))  # (Linux refuses here already; the preload at listen)
    n2.listen()
    check(False, "without SO_REUSEPORT a second listen on the address is refused")
except OSError as e:
    check(e.errno == errno.EADDRINUSE, f"without SO_REUSEPORT a second listen on the address is refused: {e}")
n1.close()
n2.close()

# A process connecting to its own listener, as Linux allows: through the
# preload's second app of this process (SPEC 6 never lets an app connect
# to itself by cut-through), on loopback and on the wildcard; the data both
# ways, end of stream, and the names agree.
own = socket.socket()
own.bind(("0.0.0.0", 0))
own.listen()
own_port = own.getsockname()[1]
for where in ("127.0.0.1", "0.0.0.0"):
    mine = socket.create_connection((where, own_port), timeout=10)
    them, _ = own.accept()
    mine.sendall(b"to myself")
    check(them.recv(100) == b"to myself", f"a connect to this process's own listener ({where}) carries data")
    them.sendall(b"and back")
    them.close()
    check(mine.recv(100) == b"and back" and mine.recv(10) == b"", "... both ways, then end of stream")
    check(mine.getpeername()[1] == own_port,
          f"... and the connecting side names the listener's port: {mine.getpeername()}")
    mine.close()
own.close()
try:
    socket.create_connection(("127.0.0.1", own_port), timeout=10)
    check(False, "a connect to a listener this process closed is refused")
except ConnectionRefusedError:
    check(True, "a connect to a listener this process closed is refused")

# Everything else is the kernel's: AF_UNIX, IPv6 and UDP the stack cannot
# carry (loopback; this daemon has no data plane at all) work as ever.
a, b = socket.socketpair()
a.sendall(b"unix")
check(b.recv(10) == b"unix", "AF_UNIX socketpair goes to the kernel")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.sendto(b"udp", u.getsockname())
check(u.recv(10) == b"udp", "UDP on loopback goes to the kernel")
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
w.bind(("0.0.0.0", 0))  # the stack refuses udp:// without a data plane: the kernel's
w.sendto(b"any", ("127.0.0.1", w.getsockname()[1]))
check(w.recv(10) == b"any", "UDP on a stack without a data plane goes to the kernel")
print(f"all {checks} checks hold", flush=True)
