"""What a generated module declares about a service: servers, methods, routes.

Plain frozen data, built once at import of the generated module. The gRPC
server turns a ``ServiceSpec`` into ``grpc.method_handlers_generic_handler``
(``full_name``, each method's ``name``, ``request_type.FromString`` and
``response_type.SerializeToString``, the handler looked up by ``handler`` on
the implementation); the HTTP server routes ``http_routes`` by the
``PathTemplate`` of each rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from lbtoolkit.spec._template import PathTemplate

__all__ = ["HttpRule", "MethodSpec", "ProxyTarget", "ServerKind", "ServiceSpec"]


class ServerKind(enum.StrEnum):
    """The servers of ``option (toolkit.runtime).servers``."""

    GRPC = "grpc"
    HTTP = "http"
    WEBSOCKET_PROXY = "websocket_proxy"
    WEBSOCKET = "websocket"


@dataclass(frozen=True, slots=True)
class HttpRule:
    """One HTTP binding of a method; ``additional_bindings`` are flattened.

    ``body`` is ``""`` (no body), ``"*"`` (the whole request) or a request
    field; as in the Go toolkit, POST, PUT and PATCH without ``body`` read the
    whole request from the body. ``response_body`` names the response field
    sent as the body, ``""`` for the whole response.
    """

    method: str
    path: str
    template: PathTemplate
    body: str = ""
    response_body: str = ""


@dataclass(frozen=True, slots=True)
class ProxyTarget:
    """Where a proxied method goes: a service name and its full gRPC method."""

    service: str
    method: str


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One RPC: its gRPC path, messages, streaming, routes and middlewares."""

    name: str
    handler: str
    grpc_path: str
    request_type: type[Message]
    response_type: type[Message]
    client_streaming: bool = False
    server_streaming: bool = False
    http_rules: tuple[HttpRule, ...] = ()
    middlewares: tuple[str, ...] = ()
    exclude_global_middlewares: tuple[str, ...] = ()
    websocket: bool = False
    http_proxy: ProxyTarget | None = None
    websocket_proxy: ProxyTarget | None = None

    @property
    def proxied(self) -> bool:
        """Whether another service answers this method."""
        return self.http_proxy is not None or self.websocket_proxy is not None


@dataclass(frozen=True)
class ServiceSpec:
    """A service of a .proto file as its generated module declares it.

    ``rpc_server`` is the generated ``<Service>RpcServer`` Protocol: the user's
    implementation is provided under it, and the servers ask for it.
    ``openapi`` names the OpenAPI document describing its HTTP routes: the
    generated module (``__name__``) and the file beside it.
    """

    name: str
    full_name: str
    servers: tuple[ServerKind, ...]
    methods: tuple[MethodSpec, ...]
    middlewares: tuple[str, ...] = ()
    rpc_server: type[object] | None = None
    proto_file: str = ""
    openapi: tuple[str, str] | None = None

    def uses(self, kind: ServerKind) -> bool:
        return kind in self.servers

    def method(self, name: str) -> MethodSpec:
        """The method named ``name`` (as in the .proto file)."""
        for method in self.methods:
            if method.name == name:
                return method
        msg = f"service {self.full_name} has no method {name!r}"
        raise KeyError(msg)

    @cached_property
    def grpc_methods(self) -> tuple[MethodSpec, ...]:
        """Methods the gRPC server serves: all but the proxied ones."""
        return tuple(m for m in self.methods if not m.proxied)

    @cached_property
    def http_routes(self) -> tuple[tuple[MethodSpec, HttpRule], ...]:
        """HTTP routes served by the implementation or proxied over gRPC."""
        return tuple(
            (m, rule)
            for m in self.methods
            if not m.websocket and m.websocket_proxy is None
            for rule in m.http_rules
        )

    @cached_property
    def websocket_routes(self) -> tuple[tuple[MethodSpec, HttpRule], ...]:
        """Paths where a WebSocket connection reaches a ``websocket`` method."""
        return tuple((m, rule) for m in self.methods if m.websocket for rule in m.http_rules)

    @cached_property
    def websocket_proxy_methods(self) -> tuple[MethodSpec, ...]:
        """Methods a WebSocket client calls by name and another service answers."""
        return tuple(m for m in self.methods if m.websocket_proxy is not None)
