"""Servers: the declarations generated from .proto files and the transports."""

from __future__ import annotations

from lbtoolkit.server._context import RequestContext
from lbtoolkit.server._manager import Server, ServerManager
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
    "MethodSpec",
    "PathTemplate",
    "PathVariable",
    "ProxyTarget",
    "RequestContext",
    "Server",
    "ServerKind",
    "ServerManager",
    "ServiceSpec",
]
