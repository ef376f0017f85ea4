"""Servers: the declarations generated from .proto files and the transports.

``app.server.declare(spec)`` creates the servers a spec lists (``grpc``,
``http``) and the probes server; ``app.server.set_service(ImplClass)`` gives
the implementation all of them call. Implementations receive a
:class:`RequestContext` whatever the transport.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.server._context import RequestContext, RequestScope, current_request_context
from lbtoolkit.server._errors import (
    ImplementationError,
    NoRequestScopeError,
    ServerNotDeclaredError,
    ServiceNotSetError,
)
from lbtoolkit.tools import ListenError, PortConflictError

__all__ = [
    "ImplementationError",
    "ListenError",
    "NoRequestScopeError",
    "PortConflictError",
    "RequestContext",
    "RequestScope",
    "ServerNotDeclaredError",
    "ServiceNotSetError",
    "current_request_context",
]

export(__name__, __all__)
