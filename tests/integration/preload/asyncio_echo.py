#!/usr/bin/env python3
"""An asyncio (epoll) echo server: the preload's readiness calls under an
event loop nobody here wrote. Writes its port to PORTFILE once listening."""
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
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    async with server:
        await server.serve_forever()


asyncio.run(main())
