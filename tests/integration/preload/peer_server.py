#!/usr/bin/env python3
"""The server half of the preload semantics test (tests/integration/preload.sh),
run under actorstack-run: one epoll loop (selectors) serving three listeners
whose ports it writes to PORTFILE once all listen.

  echo    reads until end of stream (the client's half-close), then answers
          "got N" and closes
  reset   reads one byte, then closes with SO_LINGER {1, 0}: a reset
  hello   sends "hello" and closes: an orderly end of stream
"""
import selectors
import socket
import struct
import sys

portfile = sys.argv[1]
sel = selectors.DefaultSelector()
ports = {}
for role in ("echo", "reset", "hello"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))  # port 0: the preload picks one
    s.listen(16)
    s.setblocking(False)
    ports[role] = s.getsockname()[1]
    sel.register(s, selectors.EVENT_READ, ("listen", role))
with open(portfile + ".tmp", "w") as f:
    f.write(" ".join(f"{r}={p}" for r, p in ports.items()) + "\n")
import os
os.rename(portfile + ".tmp", portfile)

counts = {}
while True:
    for key, _ in sel.select():
        kind, role = key.data
        s = key.fileobj
        if kind == "listen":
            c, peer = s.accept()
            c.setblocking(False)
            if role == "hello":
                c.sendall(b"hello")
                c.close()
                continue
            counts[c] = 0
            sel.register(c, selectors.EVENT_READ, ("conn", role))
            continue
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        if role == "reset" and data:
            sel.unregister(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            continue
        if data:
            counts[s] += len(data)
            continue
        sel.unregister(s)
        s.setblocking(True)
        s.sendall(f"got {counts.pop(s)}".encode())
        s.close()
