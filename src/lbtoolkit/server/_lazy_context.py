"""A request context that transports fill in lazily: the per-call fast path.

Every call hands its implementation a :class:`RequestContext`, and most
implementations never read it. Building the metadata view, the peer address
and a request scope up front was a measurable share of the per-call overhead
in the server benchmarks, so transports build a :class:`LazyRequestContext`
holding only what they have at hand and derive the rest on first read.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from lbtoolkit.server._context import RequestContext
from lbtoolkit.server._scope import RequestScope

if TYPE_CHECKING:
    from dishka import AsyncContainer

__all__ = [
    "LazyRequestContext",
    "method_context_type",
    "new_method_context",
    "set_peer",
    "set_raw",
    "set_scope",
]

C = TypeVar("C", bound="LazyRequestContext")


class LazyRequestContext(RequestContext):
    """A :class:`RequestContext` whose metadata and request scope are made when first read.

    Subclasses (one per transport) say how to read the metadata
    (:meth:`_read_metadata`) and may turn other fields into properties read
    from the transport's own objects. Contexts are made from a subclass per
    method (:func:`method_context_type`), whose class holds ``method`` and
    the container. Calling the class with fields, as ``dataclasses.replace``
    does, gives a plain ``RequestContext`` holding them (sharing this
    context's request scope if it was read).
    """

    __slots__ = ("_metadata", "lazy_scope")
    _container: AsyncContainer  # on the per-method class
    _metadata: Mapping[str, str]  # left empty until first read
    lazy_scope: RequestScope | None
    """The request scope once ``scope`` was read, else ``None``."""

    # Not an instance of cls on purpose (see the class docstring); mypy wants one.
    def __new__(cls, *args: Any, **kwargs: Any) -> RequestContext:  # type: ignore[misc]
        return RequestContext(*args, **kwargs)

    @property  # read-only, as the frozen field is
    def metadata(self) -> Mapping[str, str]:
        try:
            return self._metadata
        except AttributeError:
            metadata = MappingProxyType(self._read_metadata())
            _set_metadata(self, metadata)
            return metadata

    def _read_metadata(self) -> dict[str, str]:
        """The call's metadata with lower-case keys, read from the transport."""
        raise NotImplementedError

    @property  # read-only, as the frozen field is
    def scope(self) -> RequestScope:
        scope = self.lazy_scope
        if scope is None:
            scope = RequestScope(self._container)
            scope.context = self
            set_scope(self, scope)
        return scope


_new = object.__new__
# Slot setters: a frozen dataclass refuses plain assignment, and these are the cheapest way in.
set_raw = RequestContext.__dict__["raw"].__set__
set_peer = RequestContext.__dict__["peer"].__set__
_set_metadata = LazyRequestContext.__dict__["_metadata"].__set__
set_scope = LazyRequestContext.__dict__["lazy_scope"].__set__


def method_context_type(cls: type[C], method: str, container: AsyncContainer) -> type[C]:
    """A subclass of ``cls`` whose class holds what every call of ``method`` shares.

    Its contexts come from :func:`new_method_context`, which sets only the
    call's own fields. A transport's hottest path may write that function's
    four C calls out instead of calling it: a Python call per request
    measurably slows small gRPC calls.
    """
    namespace = {
        "__slots__": (),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "method": method,
        "_container": container,
    }
    return type(cls.__name__, (cls,), namespace)


def new_method_context(context_type: type[C], raw: Any, peer: str | None) -> C:
    """A context of one call, of a class made by :func:`method_context_type`."""
    context: C = _new(context_type)
    set_raw(context, raw)
    set_peer(context, peer)
    set_scope(context, None)
    return context
