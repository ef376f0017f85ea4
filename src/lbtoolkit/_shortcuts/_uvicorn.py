"""uvicorn: serving without its ticking task, and the connections a drain waits for.

``uvicorn.Server.serve()`` installs signal handlers (the runtime owns signals)
and runs ``main_loop``, a task that wakes ten times a second to refresh the
``Date`` header. A timer that is always pending makes every turn of the event
loop dearer, whatever else the process serves: asyncio then computes a select
timeout and checks its timer heap on each turn. Measured on the gRPC
benchmark, whose service also runs an HTTP server, that ticking task cost
2.3 % of the calls answered per second with one call in flight, 1.5 % with
64 (see "Shortcuts" in docs/design.md). So servers are started with
``startup()`` alone, and the first request of each new second brings the
``Date`` header up to date instead (:class:`DateHeader`).

uvicorn answers a request its parser refuses (a malformed request line, an
unknown method, a bad header) by itself, with a plain-text 400:
:func:`json_bad_request_protocol` makes that answer a given JSON body instead
by overriding ``send_400_response`` of uvicorn's HTTP protocol (the one
``http="auto"`` picks), which writes the response straight to ``transport``
after ``server_state.default_headers``.

Relies on ``Server.server_state`` (``default_headers``, the list each new
connection is handed; ``connections``; ``tasks``), on ``Server.lifespan``
being set before ``startup()``, on ``Config.encoded_headers`` and
``Config.loaded_app``, and on uvicorn's HTTP protocols keeping the request
being served in ``cycle``, closing through ``shutdown()`` and keeping their
``transport``.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    import socket
    from collections.abc import Awaitable, Callable

    import uvicorn

    Asgi = Callable[[Any, Any, Any], Awaitable[None]]

__all__ = [
    "DateHeader",
    "close_connection",
    "connections",
    "is_new_connection",
    "json_bad_request_protocol",
    "request_tasks",
    "shut_down_connection",
    "start_without_ticking",
]


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


async def start_without_ticking(server: uvicorn.Server, sock: socket.socket) -> None:
    """Start ``server`` (its config loaded) accepting on ``sock``, without ``main_loop``."""
    config = server.config
    if config.date_header:
        date = DateHeader(server)
        config.loaded_app = date.wrap(config.loaded_app)
    else:
        server.server_state.default_headers = list(config.encoded_headers)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])


def connections(server: uvicorn.Server) -> list[Any]:
    """The connections open now (uvicorn protocol objects)."""
    return list(server.server_state.connections)


def request_tasks(server: uvicorn.Server) -> list[asyncio.Task[None]]:
    """The tasks running now: one per request or WebSocket connection."""
    return list(server.server_state.tasks)


def is_new_connection(connection: object) -> bool:
    """Whether uvicorn accepted ``connection`` and has not begun a request on it yet.

    Both of uvicorn's HTTP protocols keep the current request in ``cycle``,
    None until the first one is parsed; a WebSocket connection has none.
    """
    return getattr(connection, "cycle", False) is None


def shut_down_connection(connection: Any) -> None:
    """Close ``connection`` now if idle, else once its response is sent."""
    connection.shutdown()


def close_connection(connection: object) -> None:
    """Close ``connection`` at once, whatever it is doing."""
    transport = getattr(connection, "transport", None)
    if transport is not None:
        transport.close()


def json_bad_request_protocol(body: bytes) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol answering requests its parser refuses with ``body`` (JSON).

    The answer keeps uvicorn's: status 400, its default headers, and the
    connection closed after it; only the content changes. The protocol is
    the one ``http="auto"`` would choose (httptools if installed, else h11).
    """
    from uvicorn.protocols.http.auto import AutoHTTPProtocol  # noqa: PLC0415

    head = (
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    base: Any = AutoHTTPProtocol

    class JsonBadRequestProtocol(base):  # type: ignore[misc]
        def send_400_response(self, msg: str) -> None:
            del msg  # uvicorn's text, "Invalid HTTP request received."
            content = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in self.server_state.default_headers:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend([head, body])
            self.transport.write(b"".join(content))
            self.transport.close()

    JsonBadRequestProtocol.__qualname__ = f"JsonBadRequest{base.__name__}"
    protocol: type[asyncio.Protocol] = JsonBadRequestProtocol
    return protocol
