"""Listening sockets for the servers uvicorn runs (HTTP, probes), and their errors."""

from __future__ import annotations

import errno
import socket

from lbtoolkit._exceptions import LbToolkitError

__all__ = ["ListenError", "PortConflictError", "blames_address", "listen_tcp"]

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


class PortConflictError(LbToolkitError, ValueError):
    """Two servers of the service are configured on the same port."""

    def __init__(
        self, server: str, variable: str, port: int, other: str, other_variable: str
    ) -> None:
        super().__init__(server, variable, port, other, other_variable)
        self.server = server
        self.variable = variable
        self.port = port
        self.other = other
        self.other_variable = other_variable

    def __str__(self) -> str:
        return (
            f"{self.variable}={self.port}: the {self.server} cannot use the port of the "
            f"{self.other} ({self.other_variable})\n"
            f"Hint: set {self.variable} to another port"
            + (" (the HTTP server's port shares it)" if self.server == "probes server" else "")
        )


class ListenError(LbToolkitError, OSError):
    """A server cannot listen on its address (port taken, address not local, ...)."""

    def __init__(
        self, server: str, address: str, variable: str, reason: str, *, address_variable: str = ""
    ) -> None:
        super().__init__(f"{server} cannot listen on {address}")
        self.server = server
        self.address = address
        self.variable = variable
        self.reason = reason
        # Set when the address, not the port, is at fault: the variable that chose it.
        self.address_variable = address_variable

    def __str__(self) -> str:
        if self.address_variable:
            hint = (
                f"set {self.address_variable} to an address of this host "
                "(0.0.0.0 for every interface)"
            )
        else:
            hint = f"free the port or set {self.variable} to another one"
        return f"{self.server} cannot listen on {self.address}: {self.reason}\nHint: {hint}"
