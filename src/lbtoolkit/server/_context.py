"""The request context every transport hands to an RPC implementation, and its request scope.

Every call hands its implementation a :class:`RequestContext`, and most
implementations never read it. So a transport builds a context from what it
has at hand, the call's own object and a :class:`CallSite` that every call of
the method shares, and the context makes its metadata view, its peer and its
request scope when they are first read. The dishka request scope behind
``context.get`` is entered on the first ``get`` only and closed with the call.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from lbtoolkit.server._errors import NoRequestScopeError

if TYPE_CHECKING:
    import logging

    from dishka import AsyncContainer

__all__ = [
    "CallSite",
    "RequestContext",
    "RequestScope",
    "close_request_scope",
    "current_request_context",
]

T = TypeVar("T")


class _Unread(enum.Enum):
    UNREAD = enum.auto()


_UNREAD: Final = _Unread.UNREAD
"""A peer the transport reads from ``raw`` only if someone asks for it."""


class _Keep(enum.Enum):
    KEEP = enum.auto()


_KEEP: Final = _Keep.KEEP
"""A field :meth:`RequestContext.replace` copies unchanged."""

_new = object.__new__

# Set while a request scope resolves, so request-scoped factories may ask for
# the RequestContext itself (the server manager provides it from here).
_current: ContextVar[RequestContext] = ContextVar("lbtoolkit_request_context")


def current_request_context() -> RequestContext:
    """The context of the call whose request scope is resolving (a DI factory)."""
    return _current.get()


def _no_metadata(raw: object) -> dict[str, str]:
    del raw
    return {}


def _no_peer(raw: object) -> str | None:
    del raw
    return None


class CallSite:
    """What the calls of one method over one transport share, made once per method.

    ``read_metadata(raw)`` gives a call's metadata with lower-case keys and
    ``read_peer(raw)`` its peer, both from the transport's own object; they
    run only when an implementation reads them. ``container`` is the app
    container the calls' request scopes open from.
    """

    __slots__ = ("container", "method", "read_metadata", "read_peer", "transport")

    def __init__(
        self,
        method: str,
        transport: str,
        container: AsyncContainer | None = None,
        read_metadata: Callable[[Any], dict[str, str]] = _no_metadata,
        read_peer: Callable[[Any], str | None] = _no_peer,
    ) -> None:
        self.method = method
        self.transport = transport
        self.container = container
        self.read_metadata = read_metadata
        self.read_peer = read_peer

    def context(self, raw: Any, peer: str | _Unread | None = _UNREAD) -> RequestContext:
        """The context of one call; pass ``peer`` when it cannot be read from ``raw`` later."""
        context = _new(RequestContext)
        # RequestContext.__init__ takes the public fields; transports set the
        # five slots here, next to the class, in one statement of the hot path.
        context._site, context._raw, context._peer, context._metadata, context._scope = (  # noqa: SLF001
            self,
            raw,
            peer,
            None,
            None,
        )
        return context


class RequestContext:
    """What an implementation may know of a call, whichever transport carried it.

    ``metadata`` holds gRPC metadata or HTTP/WebSocket headers with lower-case
    keys (HTTP header names are case-insensitive, gRPC's are lower-case already),
    ``method`` the full gRPC path (``/package.Service/Method``), ``transport``
    ``"grpc"``, ``"http"`` or ``"websocket"``, and ``peer`` the caller's address.

    ``scope`` gives request-scoped dependencies through :meth:`get`; ``raw`` is
    the transport's own object (``grpc.aio.ServicerContext`` for gRPC, so
    ``await context.raw.abort(code, details)`` works as in plain grpcio).

    A context is read-only: :meth:`replace` gives a changed copy. Contexts
    built by hand (in tests) take the fields as arguments.
    """

    __slots__ = ("_metadata", "_peer", "_raw", "_scope", "_site")

    _site: CallSite
    _raw: Any
    _peer: str | _Unread | None
    _metadata: Mapping[str, str] | None  # None until first read
    _scope: RequestScope | None  # None until first read, or for a context without one

    # Positional, in the order of the dataclass this class replaced.
    def __init__(  # noqa: PLR0917 - kept positional for existing callers
        self,
        metadata: Mapping[str, str] | None = None,
        method: str = "",
        transport: str = "grpc",
        peer: str | None = None,
        scope: RequestScope | None = None,
        raw: Any = None,
    ) -> None:
        self._site = CallSite(method, transport)
        self._raw = raw
        self._peer = peer
        lowered = {} if metadata is None else {k.lower(): v for k, v in metadata.items()}
        self._metadata = MappingProxyType(lowered)
        if scope is not None and scope.context is None:
            scope.context = self
        self._scope = scope

    @property
    def metadata(self) -> Mapping[str, str]:
        """The call's metadata, lower-case keys (gRPC's binary ``-bin`` entries left out)."""
        metadata = self._metadata
        if metadata is None:
            metadata = self._metadata = MappingProxyType(self._site.read_metadata(self._raw))
        return metadata

    @property
    def method(self) -> str:
        """The full gRPC path of the method called: ``/package.Service/Method``."""
        return self._site.method

    @property
    def transport(self) -> str:
        """``"grpc"``, ``"http"`` or ``"websocket"``."""
        return self._site.transport

    @property
    def peer(self) -> str | None:
        """The caller's address as gRPC writes it (``ipv4:10.0.0.1:5123``), if known."""
        peer = self._peer
        if peer is _UNREAD:
            peer = self._peer = self._site.read_peer(self._raw)
        return peer

    @property
    def raw(self) -> Any:
        """The transport's own object (``grpc.aio.ServicerContext``, Starlette ``Request``, ...)."""
        return self._raw

    @property
    def scope(self) -> RequestScope | None:
        """The call's request scope, or ``None`` for a context built without one."""
        scope = self._scope
        if scope is None and (container := self._site.container) is not None:
            scope = self._scope = RequestScope(container, self)
        return scope

    @property
    def scope_opened(self) -> bool:
        """Whether a dependency was resolved in the request scope, which must then be closed."""
        scope = self._scope
        return scope is not None and scope.opened

    @overload
    async def get(self, dependency: type[T]) -> T: ...
    @overload
    async def get(self, dependency: Any) -> Any: ...
    async def get(self, dependency: Any) -> Any:
        """Resolve a dependency of the request scope (``Scope.REQUEST`` providers).

        The scope opens on the first call and closes, running its finalizers,
        when the call ends; app-scoped dependencies resolve too.
        """
        scope = self.scope
        if scope is None:
            raise NoRequestScopeError(dependency)
        return await scope.get(dependency)

    def replace(
        self,
        *,
        metadata: Mapping[str, str] | _Keep = _KEEP,
        method: str | _Keep = _KEEP,
        transport: str | _Keep = _KEEP,
        peer: str | _Keep | None = _KEEP,
        raw: Any = _KEEP,
    ) -> RequestContext:
        """A copy with the fields given changed, sharing this context's request scope.

        The scope stays the call's: it closes with the call, and its factories
        see the context the call began with.
        """
        return RequestContext(
            self.metadata if metadata is _KEEP else metadata,
            self.method if method is _KEEP else method,
            self.transport if transport is _KEEP else transport,
            self.peer if peer is _KEEP else peer,
            self.scope,
            self._raw if raw is _KEEP else raw,
        )

    def __repr__(self) -> str:
        # Metadata stays out: it often carries credentials (authorization, cookies).
        return (
            f"RequestContext(method={self.method!r}, transport={self.transport!r}, "
            f"peer={self.peer!r})"
        )


class RequestScope:
    """A dishka request scope of one call, entered lazily and closed with the call.

    ``context`` is the context request-scoped factories receive as
    ``RequestContext`` (see :func:`current_request_context`).
    """

    __slots__ = ("_app", "_request", "_token", "context")

    def __init__(self, container: AsyncContainer, context: RequestContext | None = None) -> None:
        self._app = container
        self._request: AsyncContainer | None = None
        self._token: Token[RequestContext] | None = None
        self.context = context

    @property
    def opened(self) -> bool:
        """Whether a dependency was asked for (and the scope must be closed)."""
        return self._request is not None

    @overload
    async def get(self, dependency: type[T]) -> T: ...
    @overload
    async def get(self, dependency: Any) -> Any: ...
    async def get(self, dependency: Any) -> Any:
        """Resolve ``dependency``; the first call enters the request scope."""
        request = self._request
        if request is None:
            request = self._request = self._app()
            if self.context is not None:
                self._token = _current.set(self.context)
        return await request.get(dependency)

    async def close(self) -> None:
        """Run the request-scoped finalizers, if the scope was entered."""
        request, token = self._request, self._token
        if request is None:
            return
        self._request = self._token = None
        try:
            await request.close()
        finally:
            if token is not None:
                # Closed from another task's context: that context ends with its task.
                with contextlib.suppress(ValueError):
                    _current.reset(token)


async def close_request_scope(context: RequestContext, log: logging.Logger) -> None:
    """Close the request scope ``context`` opened, logging a finalizer's failure.

    Transports call it once the answer is made: a failing finalizer is the
    service's bug to log, not the caller's to receive.
    """
    scope = context.scope
    if scope is None:
        return
    try:
        await scope.close()
    except Exception:
        log.exception("closing the request scope of %s failed", context.method)
