"""Dependency injection on dishka: constructors wired by their type hints.

dishka checks the whole graph when the container is built, so a missing
dependency is reported before any plugin connects. A leaf below the runtime
and the servers: both register providers, neither imports the other for it.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, get_type_hints

from dishka import AsyncContainer, Provider, Scope, make_async_container
from dishka.exceptions import InvalidGraphError, NoFactoryError

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit._names import qualified_name

__all__ = ["DependencyError", "Injector", "NotProvidedError", "Scope", "returned_type"]

T = TypeVar("T")


class DependencyError(LbToolkitError, LookupError):
    """The dependency graph cannot be built: a type has no provider, or a cycle."""

    def __init__(self, missing: str | None, needed_by: str | None, detail: str) -> None:
        super().__init__(missing, needed_by, detail)
        self.missing = missing
        self.needed_by = needed_by
        self.detail = detail

    def __str__(self) -> str:
        if self.missing is None:
            return f"dependency graph is invalid:\n{self.detail}"
        who = self.needed_by or "the caller"
        return (
            f"no provider for {self.missing}, needed by {who}. Hint: register it with "
            f"service.provide(...), service.register_config(...) or declare the plugin "
            f"in the .proto file\n{self.detail}"
        )


class NotProvidedError(LbToolkitError, LookupError):
    """``override`` named a type that nothing in the service provides."""

    def __init__(self, requested: str, provided: Sequence[str]) -> None:
        super().__init__(requested, provided)
        self.requested = requested
        self.provided = tuple(provided)

    def __str__(self) -> str:
        listed = ", ".join(self.provided) or "nothing"
        return (
            f"cannot override {self.requested}: nothing in this service provides it. "
            f"Provided: {listed}. Hint: pass the type the plugin, package or value was "
            "provided as (a generated plugin's Protocol, such as MailPlugin)"
        )


class Injector:
    """Collects providers while the service is built; builds the container at start."""

    def __init__(self) -> None:
        self._provider = Provider(scope=Scope.APP)
        self._container: AsyncContainer | None = None
        # Factories registered by ``override``: the start order keeps reading the
        # dependencies of the provider they replaced.
        self._overrides: set[int] = set()

    def provide(
        self,
        source: Callable[..., Any] | type,
        *,
        provides: Any = None,
        scope: Scope = Scope.APP,
    ) -> None:
        """Register a constructor (function or class) for the type it returns."""
        if self._container is not None:
            msg = "providers cannot be added after the service has started"
            raise RuntimeError(msg)
        self._provider.provide(source, provides=provides, scope=scope)

    def provide_value(self, value: object, provides: Any) -> None:
        """Register an existing object under ``provides``."""
        self.provide(lambda: value, provides=provides)

    def provides(self, key: Any) -> bool:
        """Whether a provider (or an alias) for ``key`` has been registered."""
        return any(f.provides.type_hint == key for f in self._provider.factories) or any(
            a.provides.type_hint == key for a in self._provider.aliases
        )

    def provided_types(self) -> list[str]:
        """The names of the types registered so far, sorted; for error messages."""
        hints = [f.provides.type_hint for f in self._provider.factories]
        hints += [a.provides.type_hint for a in self._provider.aliases]
        return sorted({_type_name(hint) for hint in hints if not _is_marker(hint)})

    def override(self, provides: Any, value: object) -> None:
        """Resolve ``provides`` to ``value`` instead of what registered it before.

        dishka lets a later provider of a type replace an earlier one; marking it
        as an override makes that explicit, and the replaced provider's own
        dependencies are no longer resolved. Raises ``NotProvidedError`` when
        nothing provides ``provides``.
        """
        if self._container is not None:
            msg = "providers cannot be overridden after the service has started"
            raise RuntimeError(msg)
        if not self.provides(provides):
            raise NotProvidedError(_type_name(provides), self.provided_types())
        known = len(self._provider.factories)
        self._provider.provide(lambda: value, provides=provides, scope=Scope.APP, override=True)
        self._overrides.update(id(f) for f in self._provider.factories[known:])

    def provide_call(self, function: Callable[..., object]) -> type:
        """Register ``function`` so its parameters are checked with the graph.

        Returns a marker type; resolving it calls the function with its
        dependencies (awaiting it when it is a coroutine function).
        """
        marker: type = type(f"Invoke[{qualified_name(function)}]", (), {})
        self.provide_result(function, marker, lambda _: marker())
        return marker

    def provide_result(
        self,
        function: Callable[..., object],
        provides: type[T],
        convert: Callable[[Any], T],
    ) -> None:
        """Provide ``convert(function(...))`` under ``provides``, ``function`` wired by its hints.

        ``function`` may be plain or async; its parameters become part of the
        graph, so a missing one is reported before anything starts.
        """
        signature = inspect.signature(function, eval_str=True)

        async def call(*args: object) -> T:
            result = function(*args)
            if inspect.isawaitable(result):
                result = await result
            return convert(result)

        # dishka reads the parameters it must resolve from the signature.
        call.__signature__ = signature.replace(return_annotation=provides)  # type: ignore[attr-defined]
        call.__annotations__ = {
            **{name: p.annotation for name, p in signature.parameters.items()},
            "return": provides,
        }
        call.__qualname__ = call.__name__ = getattr(function, "__qualname__", repr(function))
        call.__module__ = getattr(function, "__module__", __name__)
        self.provide(call, provides=provides)

    def alias(self, source: type, provides: Any) -> None:
        """Make ``provides`` resolve to the same object as ``source``."""
        if self._container is not None:
            msg = "providers cannot be added after the service has started"
            raise RuntimeError(msg)
        self._provider.alias(source=source, provides=provides)

    def dependency_graph(self) -> dict[Any, list[Any]]:
        """Each type provided -> the types its provider takes (the latest registration wins).

        Read before or after the container is built, to order what depends on what.
        An overridden type keeps the dependencies of the provider it replaced, so a
        replacement takes the original's place in the start order.
        """
        graph: dict[Any, list[Any]] = {}
        for factory in self._provider.factories:
            if id(factory) in self._overrides:
                continue
            needs = [*factory.dependencies, *factory.kw_dependencies.values()]
            graph[factory.provides.type_hint] = [key.type_hint for key in needs]
        for alias in self._provider.aliases:
            graph[alias.provides.type_hint] = [alias.source.type_hint]
        return graph

    def build(self) -> AsyncContainer:
        """Build and validate the container; raise ``DependencyError`` naming the gap."""
        if self._container is None:
            try:
                self._container = make_async_container(self._provider)
            except NoFactoryError as error:
                missing = _type_name(error.requested.type_hint)
                needed_by = qualified_name(error.path[-1].source) if error.path else None
                raise DependencyError(missing, needed_by, str(error)) from None
            except InvalidGraphError as error:
                raise DependencyError(None, None, str(error)) from None
        return self._container

    @property
    def container(self) -> AsyncContainer:
        """The app-scope container; only after the service has started building."""
        if self._container is None:
            msg = "the dependency container exists once the service starts"
            raise RuntimeError(msg)
        return self._container

    async def get(self, dependency: type[T]) -> T:
        """Resolve ``dependency`` in the app scope."""
        return await self.container.get(dependency)

    @asynccontextmanager
    async def request_scope(
        self, context: dict[Any, Any] | None = None
    ) -> AsyncIterator[AsyncContainer]:
        """Open a request scope: request-scoped objects are fresh and finalized on exit."""
        async with self.container(context=context) as request:
            yield request

    async def close(self) -> None:
        """Run the finalizers of app-scoped objects (generators) once."""
        if self._container is not None:
            await self._container.close()


def _type_name(hint: object) -> str:
    if isinstance(hint, type):
        return qualified_name(hint)
    return repr(hint)


def _is_marker(hint: object) -> bool:
    # The types ``provide_call`` makes up for invokes: nothing a user could override.
    return isinstance(hint, type) and hint.__name__.startswith("Invoke[")


def returned_type(constructor: Callable[..., object], role: str = "constructor") -> Any:
    """What ``constructor`` provides: the class itself, or its return annotation."""
    if isinstance(constructor, type):
        return constructor
    try:
        hints = get_type_hints(constructor)
    except Exception:  # noqa: BLE001 - unresolvable hints are reported below
        hints = {}
    returned = hints.get("return")
    if returned is None or returned is type(None):
        name = qualified_name(constructor)
        msg = f"{role} {name} needs a return annotation (or pass provides=...)"
        raise TypeError(msg)
    return returned
