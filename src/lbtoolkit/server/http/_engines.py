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
import contextlib
import importlib.util
import os
import socket
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
    from collections.abc import Awaitable

    import uvicorn
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
_SERVICE_RESTART = 1012  # the WebSocket close code uvicorn sends at shutdown
_WEBSOCKET_CLOSE_BOUND = 1.0  # seconds granian gets to write those closes before it stops


class HttpEngine(Protocol):
    """A started engine, as the server's drain sees it."""

    @property
    def writes_after_listener_closed(self) -> bool:
        """Whether WebSocket frames still reach their clients once the listener is closed.

        When not, the server drains WebSocket calls before closing the listener.
        """
        ...

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

    @property
    def writes_after_listener_closed(self) -> bool:
        return True

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


class _WebSocket:
    """A WebSocket connection served by granian, which the drain can close.

    granian leaves WebSocket connections open when stopped; uvicorn closes
    them with code 1012 (service restart) and tells the application at once.
    The same is done here through the connection's ASGI channel: a close
    sent from outside the application's task reaches the client, and the
    application's ``receive`` returns the disconnect with 1012 without
    waiting for the client's answer (granian, once stopped, may never pass
    it on). A connection not yet accepted is refused as uvicorn refuses it:
    its ``accept`` raises ``OSError`` and the client gets ``500``.
    """

    __slots__ = (
        "_drained",
        "_receive",
        "_send",
        "accepted",
        "closed",
        "closed_by_drain",
        "restarting",
    )

    def __init__(self, receive: Receive, send: Send, *, restarting: bool) -> None:
        self._receive = receive
        self._send = send
        self._drained: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.accepted = False
        self.closed = False  # by either side
        self.closed_by_drain = False
        self.restarting = restarting

    async def receive(self) -> Message:
        if self.closed_by_drain:
            return {"type": "websocket.disconnect", "code": _SERVICE_RESTART}
        pending = self._receive()
        # granian's pending receive is an asyncio future: raced with the drain's close.
        if asyncio.isfuture(pending) and not pending.done():
            await asyncio.wait((pending, self._drained), return_when=asyncio.FIRST_COMPLETED)
            if not pending.done():
                return {"type": "websocket.disconnect", "code": _SERVICE_RESTART}
        message = await pending
        if message["type"] == "websocket.disconnect":
            self.closed = True
            if self.restarting:
                message = {**message, "code": _SERVICE_RESTART}
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.close":
            if self.closed_by_drain:
                return  # already closed, with 1012
            self.closed = True
        elif kind == "websocket.accept":
            if self.restarting:
                msg = "the server is shutting down"
                raise ConnectionAbortedError(msg)
            self.accepted = True
        await self._send(message)

    def restart(self) -> Awaitable[None] | None:
        """Close with 1012 if accepted, refuse the handshake if not yet; what to await, if any.

        granian takes the close when ``send`` is called, not when awaited:
        it must be called before granian's stop signal, after which granian
        may never write it.
        """
        if self.restarting or self.closed:
            return None
        self.restarting = True
        if not self.accepted:
            return None
        self.closed = self.closed_by_drain = True
        self._drained.set_result(None)
        return self._send({"type": "websocket.close", "code": _SERVICE_RESTART})


async def _settle(sent: Awaitable[None]) -> None:
    # The client may be gone already: then there is nothing left to close.
    with contextlib.suppress(Exception):
        await sent


class GranianEngine:
    """granian's Rust worker; the drain sees the ASGI tasks, not the connections.

    granian keeps its connections to itself: once stopped it closes idle
    ones (those accepted with no request yet too) and busy ones after their
    response, so the drain waits for the requests it hands to Python.
    WebSocket connections it leaves open are closed here (see :class:`_WebSocket`).
    """

    __slots__ = ("_closing", "_listener", "_sockets", "_stop", "_stopped", "_tasks")

    def __init__(
        self, app: ASGIApp, sock: socket.socket, *, keepalive_timeout: float, websockets: bool
    ) -> None:
        # Imported here: granian is optional, loaded only when chosen.
        from lbtoolkit._shortcuts._granian import serve_granian  # noqa: PLC0415 - optional

        self._tasks: set[asyncio.Task[Any]] = set()
        self._sockets: set[_WebSocket] = set()
        # The stop waiting for WebSocket closes, held until done (the loop keeps weak references).
        self._closing: set[asyncio.Task[None]] = set()
        self._stopped = False
        # The listener as the kernel knows it: its descriptor number may be reused once closed.
        status = os.fstat(sock.fileno())
        self._listener = (sock.fileno(), status.st_dev, status.st_ino)
        try:
            # granian leaves Nagle's algorithm on: a body written after its head
            # would wait for the client's delayed ACK (40 ms on Linux). Accepted
            # connections inherit the option from the listener.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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

    @property
    def writes_after_listener_closed(self) -> bool:
        # Closing the listener means stopping granian, which then writes no frame.
        return False

    def _tracking(self, app: ASGIApp) -> ASGIApp:
        """``app`` keeping each call's task in ``_tasks`` while it runs."""
        tasks = self._tasks
        sockets = self._sockets

        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            task = asyncio.current_task()
            if task is not None:
                tasks.add(task)
            try:
                if scope["type"] == "websocket":
                    # A handshake that reaches Python after the stop is refused.
                    websocket = _WebSocket(receive, send, restarting=self._stopped)
                    sockets.add(websocket)
                    try:
                        await app(scope, websocket.receive, websocket.send)
                    finally:
                        sockets.discard(websocket)
                        if websocket.closed_by_drain:
                            # granian drops a close not yet written once the call
                            # has ended, whether it returned or was cut.
                            await self._closes_written()
                else:
                    await app(scope, receive, send)
            finally:
                tasks.discard(task)

        return asgi

    def close_listeners(self) -> None:
        # One signal stops accepting and shuts the connections down: granian has no finer one.
        if self._stopped:
            return
        self._stopped = True
        closes = [sent for websocket in self._sockets if (sent := websocket.restart()) is not None]
        if not closes:
            self._stop()
            return
        # granian may drop a close it is still writing when the signal comes: signal once written.
        stopping = asyncio.ensure_future(self._stop_once_written(closes))
        self._closing.add(stopping)
        stopping.add_done_callback(self._closing.discard)

    async def _stop_once_written(self, closes: list[Awaitable[None]]) -> None:
        try:
            async with asyncio.timeout(_WEBSOCKET_CLOSE_BOUND):
                await asyncio.gather(*map(_settle, closes))
        except TimeoutError:
            pass  # a client that does not read: its close is cut with the rest
        finally:
            self._stop()

    async def _closes_written(self) -> None:
        """Return once the closes sent at the stop are written, or given up on."""
        if self._closing:
            await asyncio.wait(self._closing)

    async def wait_listeners_closed(self) -> None:
        # granian closes its listener on a thread of its own and tells nobody when
        # done: watch the descriptor it was handed until it is another file or none.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LISTENER_CLOSE_BOUND
        while self._listening() and loop.time() < deadline:  # noqa: ASYNC110 - no close event
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
