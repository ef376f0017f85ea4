"""Plugin and package managers: the guide's ``Plugin`` manager interface.

Both keep constructors in declaration order, build their instances through
dependency injection at start, and run the instances' hooks: ``pre_start`` and
the ``*_sync`` hooks one after another, ``on_start``/``on_stop`` concurrently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lbtoolkit._di import returned_type
from lbtoolkit.runtime._errors import PluginConstructionError
from lbtoolkit.runtime._hooks import Component, Hook, run_concurrently, run_in_order

if TYPE_CHECKING:
    from lbtoolkit._di import Injector

__all__ = ["ComponentManager", "PackageManager", "PluginManager"]

log = logging.getLogger("lbtoolkit.lifecycle")


@dataclass(frozen=True, slots=True)
class _Constructor:
    fn: Callable[..., object]
    provides: Any
    owner: str


class ComponentManager:
    """Constructors, instances and hooks of one kind of component."""

    kind = "component"

    def __init__(self, injector: Injector) -> None:
        self._injector = injector
        self._constructors: list[_Constructor] = []
        self._components: list[Component] = []
        self._started: list[Component] = []

    def provide(
        self,
        *constructors: Callable[..., object],
        provides: Any = None,
        name: str | None = None,
    ) -> None:
        """Add constructors; each instance is injectable by the type it returns.

        ``provides`` overrides the return annotation (one constructor only);
        ``name`` labels the component in logs and errors (a plugin's prefix).
        """
        if (provides is not None or name is not None) and len(constructors) != 1:
            msg = "provides= and name= apply to exactly one constructor"
            raise TypeError(msg)
        for fn in constructors:
            key = provides if provides is not None else returned_type(fn)
            owner = self._owner(name, key)
            self._injector.provide(fn, provides=key)
            self._constructors.append(_Constructor(fn, key, owner))

    def provide_value(
        self, value: object, *, provides: Any = None, name: str | None = None
    ) -> None:
        """Add an instance built already, injectable as ``provides`` (default: its class).

        Generated constructors build each plugin before the service starts and
        hand it over here; ``name`` labels it in logs and errors (its prefix).
        """
        key = type(value) if provides is None else provides
        owner = self._owner(name, key)
        self._injector.provide_value(value, key)
        self._constructors.append(_Constructor(lambda: value, key, owner))

    def constructors(self) -> list[Callable[..., object]]:
        """The constructors given so far, in declaration order."""
        return [c.fn for c in self._constructors]

    def register(self, instances: Iterable[object], *, owner: str | None = None) -> None:
        """Register instances whose hooks the lifecycle will call."""
        for instance in instances:
            if any(c.instance is instance for c in self._components):
                continue  # the same instance provided under two types runs its hooks once
            label = owner or f"{self.kind} {type(instance).__qualname__}"
            self._components.append(Component.inspect(label, instance))

    @property
    def components(self) -> tuple[Component, ...]:
        return tuple(self._components)

    @property
    def started(self) -> tuple[Component, ...]:
        """Components whose ``pre_start`` succeeded, in start order."""
        return tuple(self._started)

    async def build(self) -> None:
        """Resolve every constructor through DI and register the instances."""
        for constructor in self._constructors:
            try:
                instance = await self._injector.get(constructor.provides)
            except Exception as error:
                raise PluginConstructionError(constructor.owner, error) from error
            self.register([instance], owner=constructor.owner)

    async def pre_start(self) -> None:
        for component in self._components:
            hook = component.hook("pre_start")
            if hook is not None:
                await run_in_order([hook])
                log.info("%s started in %.1f ms", component.owner, (hook.duration or 0) * 1e3)
            self._started.append(component)

    async def on_start(self) -> None:
        await run_in_order(self._hooks(self._started, "on_start_sync"))
        await run_concurrently(self._hooks(self._started, "on_start"))

    def stop_hooks(self) -> tuple[list[Hook], list[Hook]]:
        """The stop hooks of started components, latest first: (sync, concurrent)."""
        started = list(reversed(self._started))
        return self._hooks(started, "on_stop_sync"), self._hooks(started, "on_stop")

    async def on_stop(self) -> None:
        sync, concurrent = self.stop_hooks()
        self._started.clear()
        await run_in_order(sync)
        await run_concurrently(concurrent)

    def forget_started(self) -> None:
        """Mark every component stopped (after the stop hooks were run elsewhere)."""
        self._started.clear()

    @staticmethod
    def _hooks(components: Iterable[Component], name: str) -> list[Hook]:
        return [hook for c in components if (hook := c.hook(name)) is not None]

    def _owner(self, name: str | None, key: Any) -> str:
        if name is not None:
            return f'{self.kind} "{name}"'
        return f"{self.kind} {getattr(key, '__qualname__', repr(key))}"


class PluginManager(ComponentManager):
    """The plugins of a service, in declaration order."""

    kind = "plugin"


class PackageManager(ComponentManager):
    """The packages of a service: user components with lifecycle hooks."""

    kind = "package"
