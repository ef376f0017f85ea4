"""The WebSocket endpoints of an HTTP server, built from the declared service specs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from lbtoolkit.server._proxy import ProxyCall
from lbtoolkit.server._validation import request_check
from lbtoolkit.server.grpc._drain import REFUSAL
from lbtoolkit.server.http._endpoint import metadata_of, peer_of
from lbtoolkit.server.http._errors import HttpRouteError
from lbtoolkit.server.http._responses import json_error
from lbtoolkit.server.http._router import Router
from lbtoolkit.server.http._transcode import Binding
from lbtoolkit.server.websocket._connection import (
    Connection,
    ConnectTarget,
    Limits,
    ProxyTarget,
)
from lbtoolkit.server.websocket._drain import Connections

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from dishka import AsyncContainer
    from starlette.types import Receive, Scope, Send

    from lbtoolkit.client import ChannelPool
    from lbtoolkit.server.http._codec import Codecs
    from lbtoolkit.spec import ServiceSpec

__all__ = ["WebSocketRoutes", "build_websocket_routes"]

_log = logging.getLogger("lbtoolkit.server.websocket")
_NO_ROUTE = 1008  # closing before accept makes the server answer the handshake with 403
_TRY_AGAIN_LATER = 1013


@dataclass(frozen=True, slots=True)
class _Endpoint:
    connect: ConnectTarget
    proxies: Mapping[str, ProxyTarget]


class WebSocketRoutes:
    """An ASGI application for ``websocket`` scopes: one endpoint per ``websocket`` method.

    A connection to a route's path calls that method once, then answers the
    frames naming the service's ``websocket_proxy`` methods (see
    ``docs/websocket.md`` for the frame protocol). ``connections`` holds
    the live ones, for the server to drain when it stops; while
    ``refusing()`` says so (the server is draining), new ones are refused.
    """

    def __init__(
        self,
        router: Router[_Endpoint],
        container: AsyncContainer,
        *,
        limits: Limits | None = None,
        log: logging.Logger = _log,
        refusing: Callable[[], bool] = lambda: False,
    ) -> None:
        self._router = router
        self._container = container
        self._limits = limits or Limits()
        self._log = log
        self._refusing = refusing
        self.connections = Connections()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes | None = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        found = self._router.match("GET", path)
        if found is None:
            await send({"type": "websocket.close", "code": _NO_ROUTE})
            return
        route, values = found
        if self.connections.draining or self._refusing():
            await _refuse(WebSocket(scope, receive, send))
            return
        endpoint = route.target
        connection = Connection(
            WebSocket(scope, receive, send),
            connect=endpoint.connect,
            proxies=endpoint.proxies,
            headers=metadata_of(scope["headers"]),
            peer=peer_of(scope.get("client")),
            container=self._container,
            limits=self._limits,
            log=self._log,
        )
        params = route.params(values) if values else {}
        self.connections.add(connection)
        try:
            await connection.serve(params, scope.get("query_string", b""))
        finally:
            self.connections.discard(connection)


async def _refuse(websocket: WebSocket) -> None:
    """Refuse a handshake as the draining server refuses HTTP requests: ``503``.

    A server without the denial response extension can only refuse it
    bare (a close before accept: the handshake is answered ``403``).
    """
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        refusal = json_error(503, REFUSAL, headers={"connection": "close"})
        await websocket.send_denial_response(refusal)
    else:
        await websocket.close(_TRY_AGAIN_LATER)


async def build_websocket_routes(
    specs: Sequence[ServiceSpec],
    container: AsyncContainer,
    codecs: Codecs,
    *,
    channels: ChannelPool | None,
    implementation: Callable[[ServiceSpec, str], Awaitable[object]],
    validation: bool = True,
    refusing: Callable[[], bool] = lambda: False,
) -> WebSocketRoutes | None:
    """The WebSocket endpoints of ``specs``, or ``None`` when none declares one.

    ``implementation(spec, label)`` resolves the object answering a spec's
    ``websocket`` methods; proxied methods need ``channels``. With
    ``validation``, the connect request and each proxied frame's request are
    checked against their rules. While ``refusing()`` is true (the server
    drains) new connections are refused.
    """
    router: Router[_Endpoint] = Router()
    for spec in specs:
        if not spec.websocket_routes:
            if spec.websocket_proxy_methods:
                _log.warning(
                    "service %s has websocket_proxy methods but no websocket method: "
                    "no path reaches them",
                    spec.full_name,
                )
            continue
        proxies = _proxies(spec, codecs, channels, validation=validation)
        implementation_of = None
        for method, rule in spec.websocket_routes:
            label = f"WEBSOCKET {rule.path} ({method.grpc_path})"
            if implementation_of is None:
                implementation_of = await implementation(spec, label)
            handler: Any = getattr(implementation_of, method.handler, None)
            if not callable(handler):
                reason = f"{type(implementation_of).__qualname__} has no method {method.handler!r}"
                raise HttpRouteError(label, reason)
            binding = Binding(method, rule, codecs)
            connect = ConnectTarget(
                method,
                handler,
                binding.request,
                codecs.of_class(method.response_type),
                request_check(method.request_type, enabled=validation),
                codecs.of_class(method.request_type) if method.client_streaming else None,
            )
            router.add("GET", rule.template, _Endpoint(connect, proxies), label=label)
    if not router.routes:
        return None
    return WebSocketRoutes(router, container, refusing=refusing)


def _proxies(
    spec: ServiceSpec, codecs: Codecs, channels: ChannelPool | None, *, validation: bool
) -> dict[str, ProxyTarget]:
    methods = spec.websocket_proxy_methods
    if not methods:
        return {}
    if channels is None:
        _log.warning("service %s: no channel pool, websocket_proxy methods are off", spec.full_name)
        return {}
    proxies: dict[str, ProxyTarget] = {}
    for method in methods:
        target = ProxyTarget(
            method,
            ProxyCall(method, channels, validation=validation),
            codecs.of_class(method.request_type),
            codecs.of_class(method.response_type),
        )
        proxies[method.name] = proxies[method.grpc_path] = target
    return proxies
