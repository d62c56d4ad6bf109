#!/usr/bin/env python3
"""An asyncio (epoll) echo server: the preload's readiness calls under an
event loop nobody here wrote. Each connection is echoed until the client's
end of stream (its half-close), then closed once the echo is out.

  asyncio_echo.py PORTFILE [ADDRESS [PORT]]   (default 127.0.0.1, port 0:
  any; the port goes to PORTFILE once listening)"""
import asyncio
import os
import sys


async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def main():
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    server = await asyncio.start_server(echo, host, port)
    port = server.sockets[0].getsockname()[1]
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    async with server:
        await server.serve_forever()


asyncio.run(main())
