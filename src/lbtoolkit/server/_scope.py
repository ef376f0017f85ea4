"""The request scope behind ``RequestContext.get``: opened on first use only.

Most calls never ask for a request-scoped dependency, so a call carries an
unopened :class:`RequestScope` (one small object) and pays for dishka's
request scope only when the implementation asks for something in it.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, TypeVar, overload

from lbtoolkit.server._context import RequestContext

if TYPE_CHECKING:
    from dishka import AsyncContainer

__all__ = ["RequestScope", "current_request_context"]

T = TypeVar("T")

# Set while a request scope resolves, so request-scoped factories may ask for
# the RequestContext itself (the runtime provides it from here).
_current: ContextVar[RequestContext] = ContextVar("lbtoolkit_request_context")


def current_request_context() -> RequestContext:
    """The context of the call whose request scope is resolving (a DI factory)."""
    return _current.get()


class RequestScope:
    """A dishka request scope of one call, entered lazily and closed with the call."""

    __slots__ = ("_app", "_request", "_token", "context")

    def __init__(self, container: AsyncContainer) -> None:
        self._app = container
        self._request: AsyncContainer | None = None
        self._token: Token[RequestContext] | None = None
        self.context: RequestContext | None = None

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
