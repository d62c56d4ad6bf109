#!/usr/bin/env python3
"""N threads, one connection each, all at once: each sends BYTES of its own
pattern, half-closes, and checks the echo byte for byte (the preload's
locking between threads). Prints PASS with the totals."""
import hashlib
import socket
import sys
import threading

port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
errors = []
start = threading.Barrier(n)


def one(i):
    try:
        data = hashlib.sha256(str(i).encode()).digest() * (size // 32 + 1)
        data = data[:size]
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        start.wait()
        got = bytearray()
        sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
        sender.start()
        while chunk := s.recv(65536):
            got += chunk
        sender.join()
        s.close()
        if bytes(got) != data:
            errors.append(f"connection {i}: {len(got)} of {len(data)} bytes came back, or not the same")
    except Exception as e:  # noqa: BLE001 - any failure is the test's
        errors.append(f"connection {i}: {e!r}")


threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    print("failed:", *errors[:5], sep="\n  ")
    sys.exit(1)
print(f"{n} connections x {size} bytes echoed, every byte checked")
