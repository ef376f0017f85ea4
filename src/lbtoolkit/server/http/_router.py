"""Finding the route of a request: one dict lookup or one regular expression per method.

Routes without variables sit in a dict. The others of one HTTP method are
joined into a single alternation, so matching is one ``fullmatch`` in C
however many routes there are; the group that matched names the route.
Alternatives are ordered most specific first (``PathTemplate.precedence``),
then in the order they were added; ``PathTemplate.pattern`` is the one
compiler of templates into regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from lbtoolkit.server.http._errors import HttpRouteError
from lbtoolkit.spec import PathVariable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lbtoolkit.spec import PathTemplate

__all__ = ["Route", "Router"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Route(Generic[T]):
    """A method and a path template bound to what serves them (``target``)."""

    method: str
    template: PathTemplate
    target: T
    label: str
    order: int = 0
    variables: tuple[PathVariable, ...] = field(init=False)

    def __post_init__(self) -> None:
        variables = tuple(s for s in self.template.segments if isinstance(s, PathVariable))
        object.__setattr__(self, "variables", variables)

    @property
    def path(self) -> str:
        """The template as written (``/v1/{name=users/*}``): a bounded label for metrics."""
        return str(self.template)

    def params(self, values: Iterable[str]) -> dict[str, str]:
        """Decoded variable values by field path."""
        return {
            variable.field_path: variable.decode(value)
            for variable, value in zip(self.variables, values, strict=True)
        }


@dataclass(slots=True)
class _Compiled(Generic[T]):
    regex: re.Pattern[str]
    # The index of a route's outer group -> the route; its variables follow it.
    by_group: dict[int, Route[T]]


class Router(Generic[T]):
    """Routes by method and raw path (percent-encoded, as the template expects)."""

    def __init__(self) -> None:
        self._routes: list[Route[T]] = []
        self._static: dict[str, dict[str, Route[T]]] = {}
        self._dynamic: dict[str, _Compiled[T]] = {}

    @property
    def routes(self) -> tuple[Route[T], ...]:
        return tuple(self._routes)

    def add(self, method: str, template: PathTemplate, target: T, *, label: str) -> Route[T]:
        """Add a route; ``label`` names it in the error when another took the same path."""
        method = method.upper()
        for route in self._routes:
            if route.method == method and route.template == template:
                reason = f"{method} {template} is already taken by {route.label}"
                raise HttpRouteError(label, reason, "give one of them another path")
        route = Route(method, template, target, label, len(self._routes))
        self._routes.append(route)
        self._build()
        return route

    def _build(self) -> None:
        static: dict[str, dict[str, Route[T]]] = {}
        dynamic: dict[str, list[Route[T]]] = {}
        for route in self._routes:
            if route.template.is_literal:
                static.setdefault(route.method, {})[str(route.template)] = route
            else:
                dynamic.setdefault(route.method, []).append(route)
        self._static = static
        self._dynamic = {method: _compile(routes) for method, routes in dynamic.items()}

    def match(self, method: str, path: str) -> tuple[Route[T], tuple[str, ...]] | None:
        """The route for ``method path`` and its raw variable values, or ``None``."""
        static = self._static.get(method)
        if static is not None:
            route = static.get(path)
            if route is not None:
                return route, ()
        compiled = self._dynamic.get(method)
        if compiled is None:
            return None
        found = compiled.regex.fullmatch(path)
        if found is None:
            return None
        index = found.lastindex or 0
        route = compiled.by_group[index]
        return route, found.groups()[index : index + len(route.variables)]

    def allowed_methods(self, path: str) -> list[str]:
        """Methods that have a route for ``path`` (for a 405's ``Allow`` header)."""
        methods = {m for m in self._static if path in self._static[m]}
        methods.update(m for m, c in self._dynamic.items() if c.regex.fullmatch(path))
        if "GET" in methods:
            methods.add("HEAD")  # answered by the GET route
        return sorted(methods)


def _priority(route: Route[T]) -> tuple[bool, int, bool, int]:
    return (*route.template.precedence, route.order)


def _compile(routes: list[Route[T]]) -> _Compiled[T]:
    alternatives: list[str] = []
    by_group: dict[int, Route[T]] = {}
    group = 1
    for route in sorted(routes, key=_priority):
        by_group[group] = route
        alternatives.append("(" + route.template.pattern + ")")
        group += 1 + len(route.variables)
    return _Compiled(re.compile("|".join(alternatives)), by_group)
