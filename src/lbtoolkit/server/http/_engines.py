"""The HTTP engines: what accepts connections and parses HTTP for :class:`HttpServer`.

Both run the ASGI application in the service's event loop and serve a socket
the server has bound. The server's drain speaks to them through
:class:`HttpEngine` only: close the listener, tell whether connections
accepted just before are still waiting for their request, shut connections
down once their response is sent, tell whether any work is left, and cut
what remains at the deadline.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lbtoolkit._shortcuts._uvicorn import (
    close_connection,
    connections,
    is_new_connection,
    request_tasks,
    shut_down_connection,
)
from lbtoolkit.tools._uvicorn import start_server

if TYPE_CHECKING:
    import socket

    import uvicorn
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "EngineName",
    "GranianEngine",
    "HttpEngine",
    "UvicornEngine",
    "missing_engine",
    "start_engine",
]

EngineName = Literal["uvicorn", "granian"]

# How many requests granian hands to Python at once (its default is its listen backlog).
_GRANIAN_BACKPRESSURE = 1024
_LISTENER_POLL = 0.01  # seconds between checks that granian has closed its listener
_LISTENER_CLOSE_BOUND = 2.0  # seconds granian gets to close its listener once stopped


class HttpEngine(Protocol):
    """A started engine, as the server's drain sees it."""

    def close_listeners(self) -> None:
        """Stop accepting connections."""
        ...

    async def wait_listeners_closed(self) -> None:
        """Return once the listening sockets are closed."""
        ...

    def has_new_connections(self) -> bool:
        """Whether a connection accepted before the listener closed has sent no request yet."""
        ...

    def shut_down_connections(self) -> None:
        """Close idle connections now and busy ones after their response."""
        ...

    def busy(self) -> bool:
        """Whether anything is still served: a connection open, a request running."""
        ...

    def running_tasks(self) -> list[asyncio.Task[Any]]:
        """The tasks running now: one per request or WebSocket connection."""
        ...

    def close_connections(self) -> None:
        """Close every connection at once, whatever it is doing."""
        ...


def missing_engine(name: EngineName) -> str:
    """What to install for ``name`` to be usable; empty if it is."""
    if name == "granian" and importlib.util.find_spec("granian") is None:
        return "granian"
    return ""


async def start_engine(
    name: EngineName,
    app: ASGIApp,
    sock: socket.socket,
    *,
    websockets: bool,
    bad_request_body: bytes,
    keepalive_timeout: float,
) -> HttpEngine:
    """Serve ``app`` on ``sock`` (bound, listening) with engine ``name``; return once accepting.

    ``bad_request_body`` answers the requests the engine's parser refuses
    (uvicorn only: granian answers them itself). ``keepalive_timeout``
    (seconds) bounds how long an idle connection stays open. If the engine
    cannot start, the socket is closed.
    """
    if name == "granian":
        return GranianEngine(app, sock, keepalive_timeout=keepalive_timeout, websockets=websockets)
    server = await start_server(
        app,
        sock,
        interface="asgi3",
        ws="websockets-sansio" if websockets else "none",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        bad_request_body=bad_request_body,
        # uvicorn declares an int but only hands it to loop.call_later: fractions work.
        timeout_keep_alive=keepalive_timeout,
    )
    return UvicornEngine(server)


class UvicornEngine:
    """uvicorn's connections, seen through the shortcuts that reach them."""

    __slots__ = ("server",)

    def __init__(self, server: uvicorn.Server) -> None:
        self.server = server

    def close_listeners(self) -> None:
        for listener in self.server.servers:
            listener.close()

    async def wait_listeners_closed(self) -> None:
        for listener in self.server.servers:
            await listener.wait_closed()

    def has_new_connections(self) -> bool:
        return any(map(is_new_connection, connections(self.server)))

    def shut_down_connections(self) -> None:
        for connection in connections(self.server):
            shut_down_connection(connection)

    def busy(self) -> bool:
        return bool(connections(self.server))

    def running_tasks(self) -> list[asyncio.Task[Any]]:
        return request_tasks(self.server)

    def close_connections(self) -> None:
        for connection in connections(self.server):
            close_connection(connection)


class GranianEngine:
    """granian's Rust worker; the drain sees the ASGI tasks, not the connections.

    granian keeps its connections to itself: once stopped it closes idle
    ones (those accepted with no request yet too) and busy ones after their
    response, so the drain waits for the requests it hands to Python.
    """

    __slots__ = ("_listener", "_stop", "_stopped", "_tasks")

    def __init__(
        self, app: ASGIApp, sock: socket.socket, *, keepalive_timeout: float, websockets: bool
    ) -> None:
        # Imported here: granian is optional, loaded only when chosen.
        from lbtoolkit._shortcuts._granian import serve_granian  # noqa: PLC0415

        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False
        # The listener as the kernel knows it: its descriptor number may be reused once closed.
        status = os.fstat(sock.fileno())
        self._listener = (sock.fileno(), status.st_dev, status.st_ino)
        try:
            self._stop = serve_granian(
                self._tracking(app),
                sock,
                backlog=_GRANIAN_BACKPRESSURE,
                header_read_timeout=keepalive_timeout,
                websockets=websockets,
            )
        except BaseException:
            if sock.fileno() != -1:
                sock.close()
            raise

    def _tracking(self, app: ASGIApp) -> ASGIApp:
        """``app`` keeping each call's task in ``_tasks`` while it runs."""
        tasks = self._tasks

        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            task = asyncio.current_task()
            if task is not None:
                tasks.add(task)
            try:
                await app(scope, receive, send)
            finally:
                tasks.discard(task)

        return asgi

    def close_listeners(self) -> None:
        # One signal stops accepting and shuts the connections down: granian has no finer one.
        if not self._stopped:
            self._stopped = True
            self._stop()

    async def wait_listeners_closed(self) -> None:
        # granian closes its listener on a thread of its own and tells nobody when
        # done: watch the descriptor it was handed until it is another file or none.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LISTENER_CLOSE_BOUND
        while self._listening() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(_LISTENER_POLL)

    def _listening(self) -> bool:
        fd, device, inode = self._listener
        try:
            status = os.fstat(fd)
        except OSError:
            return False
        return (status.st_dev, status.st_ino) == (device, inode)

    def has_new_connections(self) -> bool:
        return False

    def shut_down_connections(self) -> None:
        self.close_listeners()

    def busy(self) -> bool:
        return bool(self._tasks)

    def running_tasks(self) -> list[asyncio.Task[Any]]:
        return list(self._tasks)

    def close_connections(self) -> None:
        # Out of reach: a cancelled request is answered 500 and its connection closed.
        return
