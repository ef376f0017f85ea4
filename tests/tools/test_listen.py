"""Listening sockets: accepted connections send without Nagle's delay."""

from __future__ import annotations

import asyncio
import socket

from lbtoolkit.tools._listen import listen_tcp


async def test_accepted_connections_have_nodelay() -> None:
    nodelay: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted = writer.get_extra_info("socket")
        nodelay.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    sock = listen_tcp("127.0.0.1", 0)
    server = await asyncio.start_server(on_connect, sock=sock)
    port = sock.getsockname()[1]
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if nodelay:
                break
            await asyncio.sleep(0.01)
        writer.close()
        assert nodelay
        assert nodelay[0] != 0
    finally:
        server.close()
        await server.wait_closed()


def test_port_zero_binds_a_free_port() -> None:
    with listen_tcp("127.0.0.1", 0) as sock:
        assert sock.getsockname()[1] != 0
