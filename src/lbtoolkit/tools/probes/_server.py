"""The probes server: liveness, readiness and ``/metrics`` over plain HTTP.

A small Starlette app served by uvicorn on its own port, so probes answer
even when the service's HTTP server is busy, disabled or absent. Its
endpoints are plain Starlette endpoints, so another HTTP server may mount
them instead (:meth:`ProbesServer.routes`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from lbtoolkit.tools._listen import listen_tcp
from lbtoolkit.tools._uvicorn import start_server
from lbtoolkit.tools.probes._registry import CheckKind, healthy

if TYPE_CHECKING:
    from starlette.requests import Request
    from uvicorn import Server

    from lbtoolkit.tools._metrics import Metrics
    from lbtoolkit.tools.probes._registry import Probes

__all__ = ["Endpoint", "ProbesServer"]

log = logging.getLogger("lbtoolkit.probes")

Endpoint = Callable[["Request"], Awaitable[Response]]

_JSON = "application/json; charset=utf-8"


class ProbesServer:
    """``GET`` liveness and readiness paths (JSON ``{check: "ok" | error}``) and metrics.

    A probe answers 200 when every check says ``"ok"`` (or ``"degraded: ..."``,
    a failing check that is not critical) and 503 otherwise;
    readiness also fails until the lifecycle has started and from the moment
    stop begins (the ``"lifecycle"`` entry).
    """

    name = "probes"

    def __init__(
        self,
        probes: Probes,
        metrics: Metrics,
        *,
        listen: str = "0.0.0.0",  # noqa: S104 - probes must be reachable from the node
        port: int = 8081,
        liveness_path: str = "/_healthz/liveness",
        readiness_path: str = "/_healthz/readiness",
        metrics_path: str = "/metrics",
    ) -> None:
        self.probes = probes
        self.metrics = metrics
        self.listen = listen
        self.configured_port = port
        self.paths = {"liveness": liveness_path, "readiness": readiness_path}
        self.metrics_path = metrics_path
        self._server: Server | None = None
        self._socket: socket.socket | None = None

    def routes(self) -> list[tuple[str, str, Endpoint]]:
        """``(method, path, endpoint)`` of every route, for mounting on another server.

        The endpoints are plain ``async def`` functions taking a Starlette
        request, as any ASGI framework's router accepts them.
        """

        async def liveness(request: Request) -> Response:  # noqa: ARG001 - endpoint signature
            return await self._probe(CheckKind.LIVENESS)

        async def readiness(request: Request) -> Response:  # noqa: ARG001 - endpoint signature
            return await self._probe(CheckKind.READINESS)

        async def scrape(request: Request) -> Response:
            encoder, content_type = choose_encoder(request.headers.get("accept", ""))
            # Collecting reads /proc and every metric: keep it off the event loop.
            body = await asyncio.to_thread(encoder, self.metrics.registry)
            return Response(body, headers={"Content-Type": content_type})

        return [
            ("GET", self.paths["liveness"], liveness),
            ("GET", self.paths["readiness"], readiness),
            ("GET", self.metrics_path, scrape),
        ]

    async def _probe(self, kind: CheckKind) -> Response:
        report = await self.probes.run(kind)
        is_healthy = all(healthy(result) for result in report.values())
        body = json.dumps(report, sort_keys=True)
        return Response(body, status_code=200 if is_healthy else 503, media_type=_JSON)

    @property
    def port(self) -> int:
        """The bound port once started, the configured one before."""
        if self._socket is not None:
            port: int = self._socket.getsockname()[1]
            return port
        return self.configured_port

    async def prepare(self, container: object) -> None:
        """Nothing to build: the checks are read at each probe."""

    async def start(self) -> None:
        """Bind and listen; raise ``OSError`` when the address cannot be bound."""
        sock = listen_tcp(self.listen, self.configured_port)
        app = Starlette(routes=[Route(p, e, methods=[m]) for m, p, e in self.routes()])
        # Plain HTTP only: with uvicorn's default (ws="auto") starting it would load a
        # WebSocket implementation that no probe or scrape ever uses.
        server = await start_server(app, sock, access_log=False, server_header=False, ws="none")
        self._server, self._socket = server, sock
        log.info("probes server listening on %s:%d", self.listen, self.port)

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - a drain deadline
        """Close the listener and let open probe requests finish within ``timeout``."""
        server, sock = self._server, self._socket
        if server is None or sock is None:
            return
        server.config.timeout_graceful_shutdown = max(int(timeout), 1)
        await server.shutdown(sockets=[sock])
        self._server = self._socket = None
