# A server that says who it is: binds ADDR:PORT (127.0.0.1 unless --bind
# ADDR) with SO_REUSEPORT (or without, with --plain), writes "listening" to
# READY, then answers each connection with NAME and closes it. With --plain
# a bind or listen that fails writes the errno's name to READY instead.
#   reuseport_server.py PORT NAME READY [--plain] [--bind ADDR]
import errno
import socket
import sys

port, name, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
plain = "--plain" in sys.argv[4:]
addr = sys.argv[sys.argv.index("--bind") + 1] if "--bind" in sys.argv[4:] else "127.0.0.1"
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if not plain:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
try:
    s.bind((addr, port))
    s.listen(64)
except OSError as e:
    with open(ready, "w") as f:
        f.write(errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(0)
with open(ready, "w") as f:
    f.write("listening")
while True:
    c, _ = s.accept()
    c.sendall(name.encode() + b"\n")
    c.close()
