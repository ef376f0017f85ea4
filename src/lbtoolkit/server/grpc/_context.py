"""The request context of a gRPC call, filled in only as far as someone reads it.

Every call hands its implementation a :class:`RequestContext`; most
implementations never look at it. Building one with its metadata view,
peer address and request scope up front cost about a third of the server's
own per-call overhead in the gRPC benchmark, so the gRPC context keeps just
the grpc context, the method and the app container, and derives the rest on
first access.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import grpc.aio

from lbtoolkit.server._context import NormalizedMetadata, RequestContext
from lbtoolkit.server._scope import RequestScope

if TYPE_CHECKING:
    from dishka import AsyncContainer

__all__ = ["GrpcRequestContext", "grpc_context", "metadata_of"]

Context = grpc.aio.ServicerContext[Any, Any]


def metadata_of(context: Context) -> dict[str, str]:
    """The call's text metadata (keys are lower-case on the wire; ``-bin`` values stay out)."""
    pairs = context.invocation_metadata() or ()
    return {key: value for key, value in pairs if isinstance(value, str)}


class _Metadata(NormalizedMetadata):
    """The call's metadata, read from grpc only when someone looks at it."""

    __slots__ = ("_context", "_items")

    def __init__(self, context: Context) -> None:
        self._context = context
        self._items: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        items = self._items
        if items is None:
            items = self._items = metadata_of(self._context)
        return items

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class GrpcRequestContext(RequestContext):
    """A :class:`RequestContext` whose fields are computed from the grpc call on first read.

    ``transport`` is ``"grpc"``; ``method``, ``peer`` and ``raw`` are set when
    built (grpc's peer must be read while the call lives); ``metadata`` and
    ``scope`` come from the call when first read.
    The properties below stand in for the dataclass fields of the same names.
    """

    __slots__ = ("_container", "_metadata", "lazy_scope")
    _container: AsyncContainer
    _metadata: NormalizedMetadata
    lazy_scope: RequestScope | None
    """The request scope once ``scope`` was read, else ``None``."""

    transport = "grpc"  # a constant in place of the field

    def __new__(cls, *args: Any, **kwargs: Any) -> RequestContext:  # type: ignore[misc]
        # Built by grpc_context(); a call with fields (dataclasses.replace, say)
        # gets a plain RequestContext holding them.
        return RequestContext(*args, **kwargs)

    @property  # read-only, as the frozen field is
    def metadata(self) -> Mapping[str, str]:
        try:
            return self._metadata
        except AttributeError:  # first read: the slot is left empty when built
            metadata = _Metadata(self.raw)
            _set_own_metadata(self, metadata)
            return metadata

    @property
    def scope(self) -> RequestScope:
        scope = self.lazy_scope
        if scope is None:
            scope = RequestScope(self._container)
            scope.context = self
            _set_own_scope(self, scope)
        return scope


_new = object.__new__
# Slot setters: a frozen dataclass refuses plain assignment, and these are the cheapest way in.
_set_raw = RequestContext.__dict__["raw"].__set__
_set_method = RequestContext.__dict__["method"].__set__
_set_peer = RequestContext.__dict__["peer"].__set__
_set_container = GrpcRequestContext.__dict__["_container"].__set__
_set_own_metadata = GrpcRequestContext.__dict__["_metadata"].__set__
_set_own_scope = GrpcRequestContext.__dict__["lazy_scope"].__set__


def grpc_context(raw: Context, method: str, container: AsyncContainer) -> GrpcRequestContext:
    """The context of one call of ``method``; its request scope is entered from ``container``."""
    context: GrpcRequestContext = _new(GrpcRequestContext)
    _set_raw(context, raw)
    _set_method(context, method)
    _set_peer(context, raw.peer())
    _set_container(context, container)
    _set_own_scope(context, None)
    return context
