"""The metrics listener: prometheus_client's ASGI app on uvicorn, inside the service's loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import make_asgi_app

from lbtoolkit.tools import start_server

if TYPE_CHECKING:
    import socket

    import uvicorn
    from prometheus_client import CollectorRegistry

__all__ = ["MetricsServer"]

Scope = dict[str, Any]


class _OnePath:
    """The metrics app at one path; 404 elsewhere."""

    def __init__(self, path: str, registry: CollectorRegistry) -> None:
        self._path = path
        self._metrics = make_asgi_app(registry)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["path"] == self._path:
            await self._metrics(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found\n"})


class MetricsServer:
    """Serves ``registry`` at ``path`` on an already bound socket.

    Binding before uvicorn (with ``listen_tcp``) makes a bind error the
    plugin's to report, and a port 0 readable.
    """

    def __init__(self, sock: socket.socket, path: str, registry: CollectorRegistry) -> None:
        self._sock = sock
        self.address: tuple[str, int] = sock.getsockname()[:2]
        self._app = _OnePath(path, registry)
        self._server: uvicorn.Server | None = None

    @property
    def serving(self) -> bool:
        """Whether the server started and has not stopped."""
        return self._server is not None

    async def start(self) -> None:
        """Return once the server accepts connections; the socket is closed if it cannot."""
        # Plain HTTP only: no WebSocket implementation to load for a scrape.
        self._server = await start_server(self._app, self._sock, access_log=False, ws="none")

    async def stop(self, grace: float) -> None:
        """Stop accepting, close open connections (after ``grace`` seconds), release the port."""
        server, self._server = self._server, None
        try:
            if server is not None:
                server.config.timeout_graceful_shutdown = max(int(grace), 1)
                await server.shutdown(sockets=[self._sock])
        finally:
            self._sock.close()
