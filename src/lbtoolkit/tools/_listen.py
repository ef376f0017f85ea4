"""Listening sockets for the servers uvicorn runs (HTTP, probes)."""

from __future__ import annotations

import errno
import socket

__all__ = ["blames_address", "listen_tcp"]

_BACKLOG = 2048  # uvicorn's default


def blames_address(error: OSError) -> bool:
    """Whether binding failed because of the address (not local, not found), not the port."""
    return isinstance(error, socket.gaierror) or error.errno in {
        errno.EADDRNOTAVAIL,
        errno.EAFNOSUPPORT,
    }


def listen_tcp(host: str, port: int, *, backlog: int = _BACKLOG) -> socket.socket:
    """A bound, listening TCP socket on ``host:port`` (port 0: any free port).

    The socket is made with ``proto=IPPROTO_TCP``, as asyncio makes its own:
    asyncio disables Nagle's algorithm only on sockets that say they are TCP,
    and ``socket.create_server()`` leaves ``proto`` at 0, which delays every
    response whose body is written after its headers by the peer's delayed ACK
    (about 40 ms).
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock
