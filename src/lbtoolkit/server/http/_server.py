"""The HTTP server: ``google.api.http`` routes and extra handlers, served in the running loop."""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from lbtoolkit.config import ConfigIssue
from lbtoolkit.errors import Unimplemented
from lbtoolkit.server._proxy import ProxyCall
from lbtoolkit.server.http._app import HttpApp, RouteTarget
from lbtoolkit.server.http._codec import Codecs
from lbtoolkit.server.http._config import HttpServerConfig
from lbtoolkit.server.http._docs import load_document, merge_documents, proto_named, with_docs
from lbtoolkit.server.http._endpoint import (
    as_async,
    error_endpoint,
    grpc_timeout,
    metadata_of,
    rpc_endpoint,
)
from lbtoolkit.server.http._engines import HttpEngine, missing_engine, start_engine
from lbtoolkit.server.http._errors import HttpListenError, HttpRouteError
from lbtoolkit.server.http._middleware import (
    Endpoint,
    JsonCorsMiddleware,
    MiddlewareConstructor,
    MiddlewareRegistry,
    compose,
)
from lbtoolkit.server.http._mount import Mounts
from lbtoolkit.server.http._observe import HttpMetrics, RouteStats, Tracing
from lbtoolkit.server.http._responses import error_body, error_response
from lbtoolkit.server.http._router import Router
from lbtoolkit.server.http._streaming import Streams, open_local_stream, stream_endpoint
from lbtoolkit.server.http._transcode import Binding
from lbtoolkit.spec import PathTemplate
from lbtoolkit.tools import blames_address, listen_tcp, listening_ports_shared

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dishka import AsyncContainer
    from starlette.requests import Request
    from starlette.types import ASGIApp, Receive, Scope, Send

    from lbtoolkit._di import Injector
    from lbtoolkit.client import ChannelPool
    from lbtoolkit.config import ConfigController
    from lbtoolkit.server._context import RequestContext
    from lbtoolkit.server.http._mount import WebSocketEndpoint
    from lbtoolkit.server.http._streaming import OpenStream
    from lbtoolkit.server.websocket._drain import Connections
    from lbtoolkit.spec import HttpRule, MethodSpec, ServiceSpec
    from lbtoolkit.tools import Tools

__all__ = ["HttpServer"]

_log = logging.getLogger("lbtoolkit.server.http")
_DRAIN_POLL = 0.02  # seconds between checks of the connections still open while draining
# Seconds a connection accepted before stop has to send its request (within
# the shutdown budget). Go's net/http gives such a connection 5 s before it
# counts as idle; one second was too short for a busy client, whose requests
# then met a closed connection after they were written.
_NEW_CONNECTION_GRACE = 5.0


def _is_async(handler: object) -> bool:
    call = handler if inspect.isfunction(handler) else getattr(handler, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


@dataclass(frozen=True, slots=True)
class _Planned:
    method: str
    template: PathTemplate
    label: str
    endpoint: Endpoint
    middlewares: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _ExtraHandler:
    method: str
    template: PathTemplate
    endpoint: Endpoint
    middlewares: tuple[str, ...]


class HttpServer:
    """Serves the HTTP routes of the services given to it, in the running loop.

    Built by the service for each HTTP server it declares; users meet it as
    ``app.server.http`` to register middlewares and extra handlers before the
    service starts. Settings come from ``{SERVICE_PREFIX}_{NAME}_SERVER_*``
    (see :class:`HttpServerConfig`).
    """

    def __init__(
        self,
        name: str,
        *,
        runtime_config: ConfigController,
        tools: Tools,
        injector: Injector,
        channels: ChannelPool | None = None,
        validation: bool = True,
    ) -> None:
        self._name = name
        # Whether requests are checked against their rules ({PREFIX}_VALIDATION_ENABLED).
        self._validation = validation
        # Where proxied methods are sent; without it they answer 501.
        self._channels = channels
        self._websockets = False
        # The live connections of the service's WebSocket routes, drained at stop.
        self._websocket_connections: Connections | None = None
        # Server-streaming answers being written, ended at once when the server stops.
        self._streams = Streams()
        self.config = runtime_config.parse(HttpServerConfig, name, owner=f"HTTP server {name!r}")
        self._port_variable = runtime_config.variable_name("SERVER_PORT", name)
        self._listen_variable = runtime_config.variable_name("SERVER_LISTEN", name)
        self._origins_variable = runtime_config.variable_name("SERVER_CORS_ALLOWED_ORIGINS", name)
        missing = missing_engine(self.config.engine)
        if missing:
            runtime_config.add_issue(
                ConfigIssue(
                    runtime_config.variable_name("SERVER_ENGINE", name),
                    f"{self.config.engine} is not installed",
                    f"HTTP server {name!r}",
                    f"pip install {missing}, or leave the variable unset for uvicorn",
                )
            )
        self._tools = tools
        self._middlewares = MiddlewareRegistry(injector)
        self._services: list[ServiceSpec] = []
        self._handlers: list[_ExtraHandler] = []
        # WebSocket endpoints and ASGI apps sharing the port (add_websocket_route, add_asgi_route).
        self._mounts = Mounts()
        self._asgi: ASGIApp | None = None
        self._app: HttpApp | None = None
        self._server: HttpEngine | None = None
        self._port: int | None = None

    @property
    def name(self) -> str:
        """The server's name (the service's, for generated servers)."""
        return self._name

    @property
    def port(self) -> int:
        """The port listened on: the bound one once started (useful with port 0)."""
        return self._port if self._port is not None else self.config.port

    @property
    def app(self) -> ASGIApp:
        """The ASGI application, once prepared (for in-process clients and benchmarks)."""
        if self._asgi is None:
            msg = f"HTTP server {self._name!r} has no application before prepare()"
            raise RuntimeError(msg)
        return self._asgi

    @property
    def in_flight(self) -> int:
        """Requests being served right now."""
        return self._app.in_flight if self._app is not None else 0

    # --- declaration ----------------------------------------------------------------

    def add_service(self, spec: ServiceSpec) -> None:
        """Serve the HTTP routes of ``spec``; its ``middlewares`` become global."""
        self._check_open("add_service")
        self._services.append(spec)
        self._middlewares.use(spec.middlewares)

    def set_middleware(self, name: str, constructor: MiddlewareConstructor) -> None:
        """Register a middleware under ``name``, built by ``constructor`` with injection."""
        self._check_open("set_middleware")
        self._middlewares.register(name, constructor)

    def use_middleware(self, *names: str) -> None:
        """Apply the middlewares ``names`` to every route, after the global ones so far."""
        self._check_open("use_middleware")
        self._middlewares.use(names)

    def add_handler(
        self,
        method: str,
        path: str,
        handler: Endpoint,
        *,
        middlewares: Sequence[str] = (),
    ) -> None:
        """Serve ``handler`` (``async def handler(request) -> Response``) at ``method path``.

        ``path`` is a ``google.api.http`` template (``/v1/items/{id}``,
        ``/files/{path=**}``); variables arrive in ``request.path_params``.
        Global middlewares apply, then ``middlewares``.
        """
        self._check_open("add_handler")
        if not _is_async(handler):
            msg = f"handler of {method.upper()} {path} must be an async function (async def)"
            raise TypeError(msg)
        template = PathTemplate.parse(path)
        self._handlers.append(_ExtraHandler(method.upper(), template, handler, tuple(middlewares)))

    def add_websocket_route(self, path: str, endpoint: WebSocketEndpoint) -> None:
        """Serve WebSocket connections to ``path`` with ``endpoint`` (``async def endpoint(ws)``).

        ``path`` is a ``google.api.http`` template; ``endpoint`` gets each
        connection as a Starlette ``WebSocket``, not yet accepted, variables in
        ``websocket.path_params``. Middlewares do not run; at stop the drain
        closes the connection (code 1012) as it does the service's own.
        ``HttpRouteError`` if a WebSocket route already has the path.
        """
        self._check_open("add_websocket_route")
        if not _is_async(endpoint):
            msg = f"endpoint of WEBSOCKET {path} must be an async function (async def)"
            raise TypeError(msg)
        self._mounts.add_websocket(path, endpoint, **self._declared_routes())

    def add_asgi_route(self, path: str, app: ASGIApp) -> None:
        """Hand HTTP requests and WebSocket connections for ``path`` and under it to ``app``.

        ``path`` is literal (``/realtime``); ``app`` gets the scope with
        ``path`` whole and ``root_path`` set to ``path``, as Starlette's
        ``Mount`` passes it, and no lifespan events. Middlewares, CORS and the
        HTTP metrics do not apply to it; the drain at stop does.
        ``HttpRouteError`` if a route could match ``path`` or a path under it.
        """
        self._check_open("add_asgi_route")
        if not _is_async(app):
            msg = f"the ASGI app at {path} must be async (async def __call__)"
            raise TypeError(msg)
        self._mounts.add_asgi(path, app, **self._declared_routes())

    def _declared_routes(self) -> dict[str, list[tuple[PathTemplate, str]]]:
        """The routes declared so far, for a mount to be checked against."""
        http = [
            (rule.template, f"{rule.method.upper()} {rule.path} ({method.grpc_path})")
            for spec in self._services
            for method, rule in spec.http_routes
        ]
        http += [(h.template, f"{h.method} {h.template}") for h in self._handlers]
        return {"http": http, "websockets": self._websocket_routes()}

    def _websocket_routes(self) -> list[tuple[PathTemplate, str]]:
        return [
            (rule.template, f"WEBSOCKET {rule.path} ({method.grpc_path})")
            for spec in self._services
            for method, rule in spec.websocket_routes
        ]

    def _check_open(self, what: str) -> None:
        if self._app is not None:
            msg = f"HTTP server {self._name!r} is prepared; call {what}() before the service starts"
            raise RuntimeError(msg)

    # --- lifecycle ------------------------------------------------------------------

    async def prepare(self, container: AsyncContainer) -> None:
        """Resolve implementations and middlewares, plan conversions, build every route."""
        codecs = Codecs(
            proto_names=self.config.json_names == "proto", strict=self.config.strict_json
        )
        planned: list[_Planned] = []
        for spec in self._services:
            planned.extend(await self._plan_service(spec, container, codecs))
        for extra in self._handlers:
            label = f"{extra.method} {extra.template}"
            chain = self._middlewares.chain(label, extra.middlewares)
            planned.append(_Planned(extra.method, extra.template, label, extra.endpoint, chain))
        built = await self._middlewares.build(
            container, {n for p in planned for n in p.middlewares}
        )
        metrics = HttpMetrics.of(self._tools.metrics.registry, self._tools.metrics.namespace)
        router: Router[RouteTarget] = Router()
        for plan in planned:
            endpoint = compose(plan.endpoint, [built[n] for n in plan.middlewares])
            stats = RouteStats(metrics, self._name, plan.method, str(plan.template))
            router.add(plan.method, plan.template, RouteTarget(endpoint, stats), label=plan.label)
        self._app = HttpApp(
            router,
            max_body_size=self.config.max_body_size,
            read_timeout=self.config.read_timeout.total_seconds(),
            unmatched=RouteStats(metrics, self._name, "", ""),
            tracing=Tracing(self._tools.traces.tracer("lbtoolkit.server.http")),
            log=_log,
            outages=self._tools.outages,
        )
        # Read when scraped: nothing to update per request.
        metrics.in_flight.labels(self._name).set_function(lambda: self.in_flight)
        # Routes and mounts may have been declared in any order: checked again, all known.
        http = [(route.template, route.label) for route in router.routes]
        self._mounts.check(http=http, websockets=self._websocket_routes())
        app = self._app
        self._asgi = self._mounts.wrap(
            await self._with_websockets(
                self._with_cors(self._with_docs(self._app, router)), container, codecs
            ),
            refusing=lambda: app.refusing,
        )

    def _with_docs(self, app: HttpApp, router: Router[RouteTarget]) -> ASGIApp:
        """``/openapi.json`` and ``/docs`` in front of the routes ({P}_SERVER_DOCS_ENABLED)."""
        if not self.config.docs_enabled:
            return app
        documents = [(s, d) for s in self._services if (d := load_document(s)) is not None]
        if not documents:
            return app
        document = merge_documents(documents, self._name)
        if self.config.json_names == "proto":
            document = proto_named(document)
        return with_docs(
            app,
            document,
            title=self._name,
            taken=lambda path: bool(router.allowed_methods(path)) or self._mounts.mounted(path),
        )

    async def _plan_service(
        self, spec: ServiceSpec, container: AsyncContainer, codecs: Codecs
    ) -> list[_Planned]:
        routes = spec.http_routes
        if not routes:
            return []
        # A gateway of proxied routes only has nothing to implement.
        implementation: object | None = None
        planned = []
        for method, rule in routes:
            label = f"{rule.method.upper()} {rule.path} ({method.grpc_path})"
            chain = self._middlewares.chain(
                label, method.middlewares, method.exclude_global_middlewares
            )
            proxied = method.http_proxy is not None and self._channels is not None
            if implementation is None and not proxied:
                implementation = await self._implementation(spec, label, container)
            endpoint = self._endpoint(
                implementation, method, rule, codecs, container=container, label=label
            )
            planned.append(_Planned(rule.method.upper(), rule.template, label, endpoint, chain))
        return planned

    async def _implementation(
        self, spec: ServiceSpec, label: str, container: AsyncContainer
    ) -> object:
        if spec.rpc_server is None:
            reason = f"service {spec.full_name} declares no implementation type (rpc_server)"
            raise HttpRouteError(label, reason)
        implementation: object = await container.get(spec.rpc_server)
        return implementation

    def _endpoint(
        self,
        implementation: object,
        method: MethodSpec,
        rule: HttpRule,
        codecs: Codecs,
        *,
        container: AsyncContainer,
        label: str,
    ) -> Endpoint:
        if method.client_streaming:
            return error_endpoint(
                Unimplemented("client-streaming methods are not served over HTTP")
            )
        if method.http_proxy is not None:
            if self._channels is None:
                return error_endpoint(Unimplemented("proxied methods are not served over HTTP"))
            call = ProxyCall(method, self._channels, validation=self._validation)
            if method.server_streaming:
                return stream_endpoint(
                    Binding(method, rule, codecs),
                    _proxy_stream(call),
                    method.grpc_path,
                    container=None,
                    log=_log,
                    streams=self._streams,
                    # Checked before the stream starts, so a bad request still gets its 400.
                    validation=self._validation,
                )
            return _proxy_endpoint(Binding(method, rule, codecs), call)
        handler: Any = getattr(implementation, method.handler, None)
        if not callable(handler):
            reason = f"{type(implementation).__qualname__} has no method {method.handler!r}"
            hint = f"implement async def {method.handler}(self, request, context)"
            raise HttpRouteError(label, reason, hint)
        binding = Binding(method, rule, codecs)
        if method.server_streaming:
            return stream_endpoint(
                binding,
                open_local_stream(handler),
                method.grpc_path,
                container=container,
                log=_log,
                streams=self._streams,
                outages=self._tools.outages,
                validation=self._validation,
            )
        return rpc_endpoint(
            binding,
            as_async(handler),
            method.grpc_path,
            container,
            _log,
            outages=self._tools.outages,
            validation=self._validation,
        )

    async def _with_websockets(
        self, app: ASGIApp, container: AsyncContainer, codecs: Codecs
    ) -> ASGIApp:
        if not any(s.websocket_routes or s.websocket_proxy_methods for s in self._services):
            return app
        # Imported here: a service without WebSocket routes never loads the package.
        from lbtoolkit.server.websocket import build_websocket_routes  # noqa: PLC0415

        async def implementation(spec: ServiceSpec, label: str) -> object:
            return await self._implementation(spec, label, container)

        sockets = await build_websocket_routes(
            self._services,
            container,
            codecs,
            channels=self._channels,
            implementation=implementation,
            validation=self._validation,
            refusing=lambda: self._app is not None and self._app.refusing,
        )
        self._websockets = sockets is not None
        if sockets is None:
            return app
        self._websocket_connections = sockets.connections

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "websocket":
                await sockets(scope, receive, send)
            else:
                await app(scope, receive, send)

        return dispatch

    def _with_cors(self, app: ASGIApp) -> ASGIApp:
        config = self.config
        if not config.cors_enabled:
            return app
        if not config.cors_allowed_origins:
            _log.warning(
                'HTTP server "%s": CORS is enabled but no origin is allowed; set %s',
                self._name,
                self._origins_variable,
            )
        return JsonCorsMiddleware(
            app,
            allow_origins=config.cors_allowed_origins,
            allow_methods=config.cors_allowed_methods,
            allow_headers=config.cors_allowed_headers,
            allow_credentials=config.cors_allow_credentials,
            max_age=int(config.cors_max_age.total_seconds()),
        )

    async def start(self) -> None:
        """Listen; return once connections are accepted."""
        if self._asgi is None:
            msg = f"HTTP server {self._name!r} must be prepared before it starts"
            raise RuntimeError(msg)
        if self._server is not None:
            msg = f"HTTP server {self._name!r} is already started"
            raise RuntimeError(msg)
        sock = self._bind()
        port = sock.getsockname()[1]
        self._server = await start_engine(
            self.config.engine,
            self._asgi,
            sock,
            websockets=self._websockets or self._mounts.websockets,
            bad_request_body=error_body(400, "invalid HTTP request"),
            keepalive_timeout=self.config.keepalive_timeout.total_seconds(),
        )
        self._port = port
        _log.info('HTTP server "%s" listening on %s:%d', self._name, self.config.listen, self._port)

    def _bind(self) -> socket.socket:
        host, port = self.config.listen, self.config.port
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            return listen_tcp(host, port, reuse_port=listening_ports_shared())
        except OSError as error:
            listen = self._listen_variable if blames_address(error) else ""
            raise HttpListenError(
                self._name, shown, error, self._port_variable, address_variable=listen
            ) from error

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - a drain deadline, not a cancel
        """Stop accepting; let requests in flight finish for up to ``timeout`` seconds; close."""
        server, self._server = self._server, None
        if server is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        try:
            if not server.writes_after_listener_closed and self._websocket_connections:
                # WebSocket calls are waited for while the listener is still
                # open (new requests answered 503 meanwhile): after, their
                # answers could not be written.
                await self._drain_calls(server, deadline)
            server.close_listeners()
            await self._drain_calls(server, deadline)
            # Idle keep-alive connections close now, busy ones after their response.
            server.shut_down_connections()
            # No engine offers an event for "last connection closed": poll its state.
            while server.busy() and loop.time() < deadline:  # noqa: ASYNC110 - no engine has a close event
                await asyncio.sleep(_DRAIN_POLL)
        except asyncio.CancelledError:
            server.close_listeners()
            self._cut(server, timeout)
            raise
        sockets = self._websocket_connections
        if server.busy() or (sockets is not None and sockets.cut()):
            self._cut(server, timeout)
        await server.wait_listeners_closed()
        if self._app is not None:
            self._app.close()
        _log.info('HTTP server "%s" stopped', self._name)

    async def _drain_calls(self, server: HttpEngine, deadline: float) -> None:
        """Refuse what is new, end the streams, wait for the WebSocket calls in flight."""
        await self._refuse_new_requests(server, deadline)
        # A stream that watches something never ends by itself: end it now,
        # with an error its client can tell from a cut connection.
        self._streams.stop_all()
        if self._websocket_connections is not None:
            # Each connection closes (code 1012) once its calls are answered.
            await self._websocket_connections.drain(deadline)

    async def _refuse_new_requests(self, server: HttpEngine, deadline: float) -> None:
        # As Go's net/http does, connections accepted just before the listener
        # closed get time to send their request, answered 503: closed on at
        # once, their clients could not tell a request that never ran from one
        # cut while running.
        if self._app is not None:
            self._app.refusing = True
        loop = asyncio.get_running_loop()
        grace = min(deadline, loop.time() + _NEW_CONNECTION_GRACE)
        while server.has_new_connections() and loop.time() < grace:  # noqa: ASYNC110 - no event
            await asyncio.sleep(_DRAIN_POLL)

    def _cut(self, server: HttpEngine, timeout: float) -> None:
        """Cancel what still runs, name it in one log line, close every connection."""
        tasks = server.running_tasks()
        running = self._app.running() if self._app is not None else {}
        requests = sum(running.values())
        names = [f"{label} ({count})" for label, count in running.items()]
        sockets = self._websocket_connections
        calls = sockets.cut() if sockets is not None else {}
        names += [f"{label} ({count})" for label, count in calls.items()]
        # Tasks that are neither requests nor the routes' own connections: mounted endpoints'.
        others = len(tasks) - requests - (len(sockets) if sockets is not None else 0)
        if others > 0:
            names.append(f"WebSocket connections ({others})")
        if names:
            _log.error(
                'HTTP server "%s": cancelling %d request(s) still running after the '
                "shutdown budget of %gs: %s",
                self._name,
                requests + sum(calls.values()) + max(others, 0),
                timeout,
                ", ".join(names),
            )
        for task in tasks:
            task.cancel()
        server.close_connections()


def _proxy_endpoint(binding: Binding, call: ProxyCall) -> Endpoint:
    """Transcode like a local route, but let another service answer over gRPC."""
    reads_body = binding.reads_body
    where = f"{binding.route} -> {call.service} {call.method}"

    async def endpoint(request: Request) -> Response:
        asgi = request.scope
        try:
            body = await request.body() if reads_body else b""
            timeout = grpc_timeout(request.headers.get("grpc-timeout"))
            message = binding.request(body, asgi["path_params"], asgi["query_string"])
            reply = await call(message, metadata_of(asgi["headers"]), timeout)
            content = binding.response(reply)
        except Exception as error:  # noqa: BLE001 - every error becomes an answer
            return error_response(error, _log, where)
        return Response(content, media_type="application/json")

    return endpoint


def _proxy_stream(call: ProxyCall) -> OpenStream:
    """Streams another service answers: the caller's deadline becomes the upstream call's."""

    async def start(message: Any, context: RequestContext, rpc_timeout: float | None) -> Any:
        request: Request = context.raw
        return call.stream(message, metadata_of(request.scope["headers"]), rpc_timeout)

    return start
