"""The server registry: declared service specs and the servers that listen."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dishka import Scope

from lbtoolkit.server._context import RequestContext, current_request_context
from lbtoolkit.server._errors import ServerNotDeclaredError
from lbtoolkit.server._services import ServiceRegistry
from lbtoolkit.server.grpc import GrpcServer
from lbtoolkit.spec import ServerKind
from lbtoolkit.tools.probes import ProbesConfig, ProbesEndpoint

if TYPE_CHECKING:
    from dishka import AsyncContainer

    from lbtoolkit._di import Injector
    from lbtoolkit.client import ChannelPool
    from lbtoolkit.config import ConfigController
    from lbtoolkit.server.http import HttpServer
    from lbtoolkit.spec import ServiceSpec
    from lbtoolkit.tools import Tools

__all__ = ["Server", "ServerContext", "ServerManager"]

log = logging.getLogger("lbtoolkit.server")

_ON_HTTP = (ServerKind.HTTP, ServerKind.WEBSOCKET, ServerKind.WEBSOCKET_PROXY)


class Server(Protocol):
    """What the lifecycle needs from a transport server."""

    @property
    def name(self) -> str: ...

    async def prepare(self, container: AsyncContainer) -> None:
        """Build handlers (their classes come from dependency injection)."""

    async def start(self) -> None:
        """Return once the server listens."""

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - a drain deadline, not a cancel
        """Stop accepting, let in-flight requests finish within ``timeout`` seconds."""


@dataclass(frozen=True, slots=True)
class ServerContext:
    """All the servers of one service may know of it.

    ``name`` names the servers and their variables; ``channels`` lets proxied
    methods call other services; ``validation`` (``{PREFIX}_VALIDATION_ENABLED``)
    whether requests are checked against their validation rules.
    """

    name: str
    config: ConfigController
    injector: Injector
    tools: Tools
    channels: ChannelPool
    validation: bool = True


class ServerManager:
    """``service.server``: what the .proto declares and what listens.

    ``declare(spec)`` creates the servers the spec lists, once per service
    (``WEBSOCKET`` and ``WEBSOCKET_PROXY`` are served by the ``http`` one):
    ``grpc`` and ``http`` are named after the service, so their variables
    read ``{SERVICE_PREFIX}_{SERVICE_NAME}_GRPC_SERVER_PORT``. ``set_service``
    gives the one implementation every transport calls. ``tool_servers``
    (probes and metrics) start before and stop after the service's own
    servers, so the platform sees readiness the whole time; they exist once a
    service declares servers, or when ``{SERVICE_PREFIX}_PROBES_SERVER_ENABLED``
    is true, so a plain service binds no port.
    """

    def __init__(self, context: ServerContext) -> None:
        self._context = context
        self._specs: list[ServiceSpec] = []
        self._servers: list[Server] = []
        self._tool_servers: list[Server] = []
        self._services = ServiceRegistry(context.injector)
        self._grpc: GrpcServer | None = None
        self._http: HttpServer | None = None
        self._probes: ProbesEndpoint | None = None
        self.probes_config = context.config.parse(ProbesConfig, "", owner="probes server")
        # Request-scoped factories may take the RequestContext of their call.
        context.injector.provide(
            current_request_context, provides=RequestContext, scope=Scope.REQUEST
        )
        if self.probes_config.enabled:
            self._ensure_probes()

    def declare(self, spec: ServiceSpec) -> None:
        """Record a service declared in a .proto file and create the servers it lists.

        Generated ``new_<service>_service`` constructors call this.
        """
        self._specs.append(spec)
        # Every transport answers with the one implementation the registry holds,
        # an HTTP-only service's as much as a gRPC one's.
        self._services.add(spec)
        if spec.uses(ServerKind.GRPC):
            self._grpc_server().add_service(spec)
        # WebSocket endpoints are upgraded HTTP requests: the HTTP server carries them.
        if any(spec.uses(kind) for kind in _ON_HTTP):
            self._http_server().add_service(spec)
        if self.probes_config.enabled is not False:
            self._ensure_probes()

    @property
    def declared(self) -> tuple[ServiceSpec, ...]:
        return tuple(self._specs)

    def set_service(self, implementation: type, *, spec: ServiceSpec | None = None) -> None:
        """Answer the declared services with ``implementation``, on every transport.

        The class is provided through DI under each spec's ``rpc_server``
        protocol (app scope): its constructor receives plugins, and gRPC and
        HTTP call the same instance. ``spec`` picks one service when the class
        implements several declared ones.
        """
        self._services.set_service(implementation, spec=spec)

    @property
    def grpc(self) -> GrpcServer:
        """The gRPC server of the declared services."""
        if self._grpc is None:
            raise ServerNotDeclaredError("grpc", self._context.name)
        return self._grpc

    @property
    def http(self) -> HttpServer:
        """The HTTP server of the declared services."""
        if self._http is None:
            raise ServerNotDeclaredError("http", self._context.name)
        return self._http

    @property
    def probes(self) -> ProbesEndpoint | None:
        """The probes and metrics server, when the service has one."""
        return self._probes

    def add(self, server: Server, *, tool: bool = False) -> None:
        """Add a server the lifecycle starts and stops."""
        (self._tool_servers if tool else self._servers).append(server)

    @property
    def servers(self) -> tuple[Server, ...]:
        return tuple(self._servers)

    @property
    def tool_servers(self) -> tuple[Server, ...]:
        return tuple(self._tool_servers)

    # -- construction ------------------------------------------------------------
    def _grpc_server(self) -> GrpcServer:
        if self._grpc is None:
            context = self._context
            self._grpc = GrpcServer(
                context.name,
                runtime_config=context.config,
                tools=context.tools,
                injector=context.injector,
                services=self._services,
                validation=context.validation,
            )
            self.add(self._grpc)
        return self._grpc

    def _http_server(self) -> HttpServer:
        if self._http is None:
            # Imported here: a gRPC-only service never loads Starlette's routing.
            from lbtoolkit.server.http import HttpServer  # noqa: PLC0415

            context = self._context
            self._http = HttpServer(
                context.name,
                runtime_config=context.config,
                tools=context.tools,
                injector=context.injector,
                channels=context.channels,
                validation=context.validation,
            )
            self.add(self._http)
        return self._http

    def _ensure_probes(self) -> None:
        if self._probes is None:
            self._probes = ProbesEndpoint(
                self.probes_config,
                self._context.tools,
                self._context.config,
                grpc=lambda: self._grpc,
                http=lambda: self._http,
            )
            self.add(self._probes, tool=True)
