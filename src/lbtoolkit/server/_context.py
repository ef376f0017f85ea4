"""The request context every transport hands to an RPC implementation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from lbtoolkit.server._errors import NoRequestScopeError

if TYPE_CHECKING:
    from lbtoolkit.server._scope import RequestScope

__all__ = ["RequestContext"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What an implementation may know of a call, whichever transport carried it.

    ``metadata`` holds gRPC metadata or HTTP/WebSocket headers with lower-case
    keys (HTTP header names are case-insensitive, gRPC's are lower-case already),
    ``method`` the full gRPC path (``/package.Service/Method``), ``transport``
    ``"grpc"``, ``"http"`` or ``"websocket"``, and ``peer`` the caller's address.

    ``scope`` gives request-scoped dependencies through :meth:`get`; ``raw`` is
    the transport's own object (``grpc.aio.ServicerContext`` for gRPC, so
    ``await context.raw.abort(code, details)`` works as in plain grpcio).
    """

    metadata: Mapping[str, str] = field(default_factory=dict)
    method: str = ""
    transport: str = "grpc"
    peer: str | None = None
    scope: RequestScope | None = None
    raw: Any = None

    def __post_init__(self) -> None:
        lowered = {key.lower(): value for key, value in self.metadata.items()}
        object.__setattr__(self, "metadata", MappingProxyType(lowered))

    @overload
    async def get(self, dependency: type[T]) -> T: ...
    @overload
    async def get(self, dependency: Any) -> Any: ...
    async def get(self, dependency: Any) -> Any:
        """Resolve a dependency of the request scope (``Scope.REQUEST`` providers).

        The scope opens on the first call and closes, running its finalizers,
        when the call ends; app-scoped dependencies resolve too.
        """
        if self.scope is None:
            raise NoRequestScopeError(dependency)
        return await self.scope.get(dependency)
