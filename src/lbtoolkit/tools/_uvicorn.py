"""uvicorn run inside the service's event loop, without uvicorn's ticking task.

``uvicorn.Server.serve()`` installs signal handlers (the runtime owns signals)
and runs ``main_loop``, a task that wakes ten times a second to refresh the
``Date`` header. A timer that is always pending makes every turn of the event
loop dearer, whatever else the process serves: asyncio then computes a select
timeout and checks its timer heap on each turn. Measured on the gRPC
benchmark, whose service also runs an HTTP server, that ticking task cost
about 3 % of the gRPC calls answered per second. So these servers are started
with ``startup()`` alone, and the first request of each new second brings the
``Date`` header up to date instead (:class:`DateHeader`).
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    import socket
    from collections.abc import Awaitable, Callable

    Asgi = Callable[[Any, Any, Any], Awaitable[None]]

__all__ = ["DateHeader", "is_new_connection", "start_server"]


class DateHeader:
    """uvicorn's default response headers with a ``Date`` that requests keep current.

    uvicorn hands each connection the list ``server_state.default_headers``
    itself, so the date is rewritten in that list, in place: a response whose
    request began in an earlier second still goes out with the current date.
    """

    __slots__ = ("_headers", "_second")

    def __init__(self, server: uvicorn.Server) -> None:
        self._second = -1
        # The date's slot first, then what uvicorn adds from its (loaded) config.
        self._headers: list[tuple[bytes, bytes]] = [(b"date", b""), *server.config.encoded_headers]
        server.server_state.default_headers = self._headers
        self.refresh()

    def refresh(self) -> None:
        """Rewrite the date if the second has changed since the last call."""
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._headers[0] = (b"date", formatdate(second, usegmt=True).encode())

    def wrap(self, app: Asgi) -> Asgi:
        """``app`` refreshing the date before each request or WebSocket connection."""
        refresh = self.refresh

        # A plain function handing back the app's coroutine: no extra frame per request.
        def asgi(scope: Any, receive: Any, send: Any) -> Awaitable[None]:
            refresh()
            return app(scope, receive, send)

        return asgi


async def start_server(app: Asgi, sock: socket.socket, **options: Any) -> uvicorn.Server:
    """A uvicorn server for ``app`` accepting on ``sock``; returns once it is listening.

    ``options`` go to ``uvicorn.Config``; lifespan events are off and logging
    is left to the service. Stop the server with ``await server.shutdown()``,
    or close its listeners and connections as the caller sees fit. If it
    cannot start, the socket is closed.
    """
    config = uvicorn.Config(app, lifespan="off", log_config=None, **options)
    config.load()
    server = uvicorn.Server(config)
    if config.date_header:
        date = DateHeader(server)
        config.loaded_app = date.wrap(config.loaded_app)
    else:
        server.server_state.default_headers = list(config.encoded_headers)
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup(sockets=[sock])
    except BaseException:
        sock.close()
        raise
    return server


def is_new_connection(connection: object) -> bool:
    """Whether uvicorn accepted ``connection`` and has not begun a request on it yet.

    Both of uvicorn's HTTP protocols keep the current request in ``cycle``,
    None until the first one is parsed; a WebSocket connection has none.
    """
    return getattr(connection, "cycle", False) is None
