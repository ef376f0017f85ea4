"""Servers: the declarations generated from .proto files and the transports.

``app.server.declare(spec)`` creates the servers a spec lists (``grpc``,
``http``) and the probes server; ``app.server.set_service(ImplClass)`` gives
the implementation all of them call. Implementations receive a
:class:`RequestContext` whatever the transport.
"""

from __future__ import annotations

from lbtoolkit.server._context import RequestContext
from lbtoolkit.server._errors import (
    ImplementationError,
    ListenError,
    NoRequestScopeError,
    PortConflictError,
    ServerNotDeclaredError,
    ServiceNotSetError,
)
from lbtoolkit.server._manager import Server, ServerManager
from lbtoolkit.server._probes import ProbesConfig, ProbesEndpoint
from lbtoolkit.server._scope import RequestScope, current_request_context
from lbtoolkit.server._services import ServiceRegistry
from lbtoolkit.server._spec import (
    HttpRule,
    MethodSpec,
    PathTemplate,
    PathVariable,
    ProxyTarget,
    ServerKind,
    ServiceSpec,
)

__all__ = [
    "HttpRule",
    "ImplementationError",
    "ListenError",
    "MethodSpec",
    "NoRequestScopeError",
    "PathTemplate",
    "PathVariable",
    "PortConflictError",
    "ProbesConfig",
    "ProbesEndpoint",
    "ProxyTarget",
    "RequestContext",
    "RequestScope",
    "Server",
    "ServerKind",
    "ServerManager",
    "ServerNotDeclaredError",
    "ServiceNotSetError",
    "ServiceRegistry",
    "ServiceSpec",
    "current_request_context",
]
