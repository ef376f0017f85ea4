"""Listening sockets for the servers uvicorn runs (HTTP, probes), and their errors."""

from __future__ import annotations

import errno
import socket

from lbtoolkit._exceptions import LbToolkitError

__all__ = [
    "ListenError",
    "PortConflictError",
    "blames_address",
    "listen_tcp",
    "listening_ports_shared",
    "reserve_shared_port",
    "share_listening_ports",
]

_BACKLOG = 2048  # uvicorn's default

# Whether this process is one of several workers serving the same ports.
_ports_shared = False


def share_listening_ports() -> None:
    """Make the service's servers bind with ``SO_REUSEPORT`` from now on, in this process.

    Only a worker process calls this: the kernel then spreads new connections
    over every worker listening on the port. Left off otherwise, because with
    it a second copy of a service started by mistake would bind the same port
    silently instead of failing.
    """
    global _ports_shared  # noqa: PLW0603 - one switch per process, set once at its start
    _ports_shared = True


def listening_ports_shared() -> bool:
    """Whether :func:`share_listening_ports` was called in this process."""
    return _ports_shared


def blames_address(error: OSError) -> bool:
    """Whether binding failed because of the address (not local, not found), not the port."""
    return isinstance(error, socket.gaierror) or error.errno in {
        errno.EADDRNOTAVAIL,
        errno.EAFNOSUPPORT,
    }


def listen_tcp(
    host: str, port: int, *, backlog: int = _BACKLOG, reuse_port: bool = False
) -> socket.socket:
    """A bound, listening TCP socket on ``host:port`` (port 0: any free port).

    ``reuse_port`` sets ``SO_REUSEPORT``, so that other processes of the same
    user may listen on the same port and share its connections.

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
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def reserve_shared_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT`` that does not listen.

    It holds the port (port 0: picks one) for the workers that listen on it
    with ``SO_REUSEPORT``, between their restarts too, while the kernel hands
    it no connection: only listening sockets get any.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        # No SO_REUSEADDR: with it, any server setting it too could bind the port
        # whenever no worker listens (between restarts). The workers' own TIME_WAIT
        # connections carry SO_REUSEPORT, so they do not stand in the way.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
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
