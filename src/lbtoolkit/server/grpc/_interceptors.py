"""Interceptors: code around every call of the implementation, built by DI.

An interceptor is a class (its constructor's parameters are injected, so it
may use plugins) with ``async def intercept(self, request, context, handler)``;
it calls ``await handler(request, context)`` to go on, or raises a status
error to refuse. The first registered runs outermost. The chain is composed
once, when the server is built, never per call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from lbtoolkit.server._context import RequestContext

__all__ = ["Handler", "Interceptor", "chain"]

Handler = Callable[[Any, RequestContext], Awaitable[Any]]
"""What an interceptor calls to go on: ``await handler(request, context)``.

For a server-streaming method it returns the response iterator, for a
client-streaming one ``request`` is the request iterator.
"""


class Interceptor(Protocol):
    """Wraps every call of the service's gRPC methods."""

    async def intercept(self, request: Any, context: RequestContext, handler: Handler) -> Any:
        """Return ``await handler(request, context)``, or raise to answer with an error."""
        ...


def chain(interceptors: Sequence[Interceptor], handler: Handler) -> Handler:
    """``handler`` wrapped by ``interceptors``, the first one outermost."""
    for interceptor in reversed(interceptors):
        handler = _link(interceptor, handler)
    return handler


def _link(interceptor: Interceptor, inner: Handler) -> Handler:
    intercept = interceptor.intercept

    # A plain function returning the coroutine: no extra coroutine frame per link.
    def call(request: Any, context: RequestContext) -> Awaitable[Any]:
        return intercept(request, context, inner)

    return call
