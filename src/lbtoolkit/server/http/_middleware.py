"""Named middlewares: built once by dependency injection, chained once per route.

A middleware is an async callable ``(request, call_next) -> response``; it
may answer by itself or ``await call_next(request)`` and adjust the answer.
It is registered by name through a *constructor*, a function or class whose
parameters dishka resolves by their type hints::

    def auth(settings: AuthSettings) -> Middleware:
        async def check(request: Request, call_next: CallNext) -> Response:
            if request.headers.get("authorization") != settings.token:
                raise Unauthenticated("bad token")
            return await call_next(request)

        return check

    app.server.http.set_middleware("auth", auth)

The chain of each route is composed when the server prepares, so a request
pays one await per middleware and nothing for looking them up.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from lbtoolkit._names import qualified_name
from lbtoolkit.server.http._errors import MiddlewareNotFoundError
from lbtoolkit.server.http._responses import json_error

if TYPE_CHECKING:
    from dishka import AsyncContainer
    from starlette.datastructures import Headers

    from lbtoolkit._di import Injector

__all__ = [
    "CallNext",
    "Endpoint",
    "JsonCorsMiddleware",
    "Middleware",
    "MiddlewareConstructor",
    "MiddlewareRegistry",
    "compose",
]

Endpoint: TypeAlias = Callable[[Request], Awaitable[Response]]
"""What answers a request: a Starlette-style endpoint, or the rest of a chain."""

CallNext: TypeAlias = Endpoint
"""The rest of the chain, as a middleware receives it."""

Middleware: TypeAlias = Callable[[Request, CallNext], Awaitable[Response]]
"""``async def middleware(request, call_next) -> Response``."""

MiddlewareConstructor: TypeAlias = Callable[..., Middleware | Awaitable[Middleware]]
"""Builds a middleware from dependencies resolved by their type hints."""


class _Built:
    """Holds what a constructor returned; one subclass per name is the DI key."""

    def __init__(self, middleware: Middleware) -> None:
        self.middleware = middleware


class MiddlewareRegistry:
    """Middlewares by name, the global list, and the chain each route gets.

    Order, outermost first: the global middlewares in the order they were
    declared (the services' ``option (toolkit.server).middlewares``, then
    ``use_middleware`` calls), minus those the route excludes; then the
    route's own, in its order. A name is applied once per route even when it
    is both global and the route's own.
    """

    def __init__(self, injector: Injector) -> None:
        self._injector = injector
        self._constructors: dict[str, MiddlewareConstructor] = {}
        self._keys: dict[str, type[_Built]] = {}
        self._global: list[str] = []

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._constructors)

    @property
    def global_names(self) -> tuple[str, ...]:
        return tuple(self._global)

    def register(self, name: str, constructor: MiddlewareConstructor) -> None:
        """Register ``constructor`` under ``name`` (a later registration replaces it)."""
        _reject_bare_middleware(name, constructor)
        self._constructors[name] = constructor
        key: type[_Built] = type(f"Middleware[{name}]", (_Built,), {})
        try:
            self._injector.provide_result(constructor, key, key)
        except RuntimeError:
            # The container exists already: resolve the parameters one by one at prepare.
            return
        self._keys[name] = key

    def use(self, names: Sequence[str]) -> None:
        """Make ``names`` global, after the ones already global."""
        for name in names:
            if name and name not in self._global:
                self._global.append(name)

    def chain(
        self, used_by: str, own: Sequence[str] = (), excluded: Sequence[str] = ()
    ) -> tuple[str, ...]:
        """The names applied to a route, outermost first; unknown names raise."""
        names = [n for n in self._global if n not in excluded]
        names.extend(n for n in own if n and n not in names)
        for name in names:
            if name not in self._constructors:
                raise MiddlewareNotFoundError(name, used_by, self.names)
        return tuple(names)

    async def build(self, container: AsyncContainer, names: set[str]) -> dict[str, Middleware]:
        """Construct each middleware in ``names`` once."""
        built: dict[str, Middleware] = {}
        for name in sorted(names):
            key = self._keys.get(name)
            if key is not None:
                holder = await container.get(key)
                middleware = holder.middleware
            else:
                middleware = await _construct(self._constructors[name], container)
            if not callable(middleware):
                msg = f"middleware constructor {name!r} returned {middleware!r}, not a callable"
                raise TypeError(msg)
            built[name] = middleware
        return built


def compose(endpoint: Endpoint, middlewares: Sequence[Middleware]) -> Endpoint:
    """Wrap ``endpoint`` so that ``middlewares[0]`` runs first."""
    handler = endpoint
    for middleware in reversed(middlewares):
        handler = _link(middleware, handler)
    return handler


def _link(middleware: Middleware, call_next: CallNext) -> Endpoint:
    async def call(request: Request) -> Response:
        return await middleware(request, call_next)

    return call


async def _construct(constructor: MiddlewareConstructor, container: AsyncContainer) -> Middleware:
    signature = inspect.signature(constructor, eval_str=True)
    args: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        args[name] = await container.get(parameter.annotation)
    result = constructor(**args)
    if inspect.isawaitable(result):
        return await result
    return result


def _reject_bare_middleware(name: str, constructor: object) -> None:
    # A middleware passed where its constructor belongs would have dishka look
    # for a Request to inject; say what to do instead.
    if not callable(constructor):
        msg = f"middleware {name!r}: {constructor!r} is not a constructor"
        raise TypeError(msg)
    try:
        parameters = list(inspect.signature(constructor, eval_str=True).parameters.values())
    except (TypeError, ValueError, NameError):
        return
    if parameters and parameters[0].annotation is Request:
        msg = (
            f"middleware {name!r}: {qualified_name(constructor, short=True)} is a "
            "middleware, not a constructor; pass a function that returns it "
            f"(set_middleware({name!r}, lambda: middleware))"
        )
        raise TypeError(msg)


class JsonCorsMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, refusing a preflight with the server's JSON error.

    Starlette answers a refused preflight with plain text (``Disallowed CORS
    origin``); the status (400) and the CORS headers stay, the body becomes
    the error shape every other answer has.
    """

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:  # noqa: PLR2004 - any error status
            return response
        text = bytes(response.body).decode()
        refused = text.removeprefix("Disallowed CORS ")
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in {"content-type", "content-length"}
        }
        message = f"CORS preflight refused: {refused} not allowed"
        return json_error(response.status_code, message, headers=headers)
