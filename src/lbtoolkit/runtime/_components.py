"""Plugin and package managers: the guide's ``Plugin`` manager interface.

Both keep constructors in declaration order and build their instances through
dependency injection at start. Their hooks run in dependency waves (see
``_waves``): the hooks of one wave concurrently, waves in order; stop runs the
waves in reverse. A component named by a prefix gets a start budget variable
of its own, ``{PREFIX}_{NAME}_START_TIMEOUT``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from lbtoolkit._di import returned_type
from lbtoolkit._names import qualified_name
from lbtoolkit.config import PositiveDuration, env
from lbtoolkit.runtime._errors import PluginConstructionError
from lbtoolkit.runtime._hooks import Component, Hook, run_wave
from lbtoolkit.runtime._waves import Node, declared_dependencies

if TYPE_CHECKING:
    from lbtoolkit._di import Injector
    from lbtoolkit.config import ConfigController

__all__ = ["DEFAULT_START_BUDGET", "ComponentManager", "PackageManager", "PluginManager"]

log = logging.getLogger("lbtoolkit.lifecycle")

# What a start hook may take when its owner has no variable of its own.
DEFAULT_START_BUDGET = 30.0
_START_HOOKS = ("pre_start", "on_start_sync", "on_start")


class StartBudget(BaseModel):
    """The variable every named plugin (and package) instance gets."""

    start_timeout: PositiveDuration = env(
        "START_TIMEOUT",
        default=f"{DEFAULT_START_BUDGET:g}s",
        comment="Time each start hook of this instance (pre_start, on_start_sync, on_start) "
        "may take before it is cancelled and the start fails",
    )


@dataclass(frozen=True, slots=True)
class _Constructor:
    fn: Callable[..., object]
    provides: Any
    owner: str
    depends_on: tuple[Any, ...] = ()
    budget: float = DEFAULT_START_BUDGET
    budget_variable: str | None = None
    # The object handed to ``provide_value``: built already, even if never started.
    value: object | None = None


class ComponentManager:
    """Constructors, instances and hooks of one kind of component."""

    kind = "component"

    def __init__(self, injector: Injector, config: ConfigController | None = None) -> None:
        self._injector = injector
        self._config = config
        self._constructors: list[_Constructor] = []
        self._components: list[Component] = []
        self._built_by: dict[int, _Constructor] = {}
        self._waves: list[list[Component]] = []
        self._started: list[Component] = []

    def provide(
        self,
        *constructors: Callable[..., object],
        provides: Any = None,
        name: str | None = None,
        depends_on: Sequence[Any] = (),
    ) -> None:
        """Add constructors; each instance is injectable by the type it returns.

        ``provides`` overrides the return annotation (one constructor only);
        ``name`` labels the component in logs and errors (a plugin's prefix)
        and gives it the ``{NAME}_START_TIMEOUT`` variable; ``depends_on``
        lists plugin or package types whose hooks must run before its own
        (constructor parameters count without being listed).
        """
        if (provides is not None or name is not None) and len(constructors) != 1:
            msg = "provides= and name= apply to exactly one constructor"
            raise TypeError(msg)
        for fn in constructors:
            key = provides if provides is not None else returned_type(fn)
            self._injector.provide(fn, provides=key)
            self._constructors.append(self._constructor(fn, key, name, depends_on))

    def provide_value(
        self,
        value: object,
        *,
        provides: Any = None,
        name: str | None = None,
        depends_on: Sequence[Any] = (),
    ) -> None:
        """Add an instance built already, injectable as ``provides`` (default: its class).

        Generated constructors build each plugin before the service starts and
        hand it over here; ``name`` labels it in logs and errors (its prefix)
        and gives it the ``{NAME}_START_TIMEOUT`` variable; ``depends_on`` as
        for :meth:`provide`.
        """
        key = type(value) if provides is None else provides
        self._injector.provide_value(value, key)
        constructor = self._constructor(lambda: value, key, name, depends_on)
        self._constructors.append(replace(constructor, value=value))

    def override(self, provides: Any, value: object) -> list[object]:
        """Put ``value`` in the place of the component provided as ``provides``.

        The replacement keeps the original's name, start budget and place in the
        start order, and its own hooks run there; the original is never built,
        or, given built already, never started. Returns the originals given built
        (so the caller can withdraw what they registered elsewhere); raises
        ``LookupError`` when no component of this manager is provided as ``provides``.
        """
        found = [n for n, c in enumerate(self._constructors) if c.provides == provides]
        if not found:
            msg = f"no {self.kind} is provided as {qualified_name(provides, short=True)}"
            raise LookupError(msg)
        self._injector.override(provides, value)
        replaced: list[object] = []
        for number in found:
            original = self._constructors[number]
            if original.value is not None:
                replaced.append(original.value)
            self._constructors[number] = replace(original, fn=lambda: value, value=value)
        return replaced

    def provides(self, key: Any) -> bool:
        """Whether one of this manager's components is provided as ``key``."""
        return any(c.provides == key for c in self._constructors)

    def constructors(self) -> list[Callable[..., object]]:
        """The constructors given so far, in declaration order."""
        return [c.fn for c in self._constructors]

    def owners(self) -> list[str]:
        """How each constructor's component is named (``plugin "cache"``), in declaration order."""
        return [c.owner for c in self._constructors]

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

    @property
    def waves(self) -> tuple[tuple[Component, ...], ...]:
        """The start waves, once planned: each runs after the ones before it."""
        return tuple(tuple(wave) for wave in self._waves)

    async def build(self) -> None:
        """Resolve every constructor through DI and register the instances."""
        for constructor in self._constructors:
            try:
                instance = await self._injector.get(constructor.provides)
            except Exception as error:
                raise PluginConstructionError(constructor.owner, error) from error
            known = len(self._components)
            self.register([instance], owner=constructor.owner)
            if len(self._components) > known:
                self._built_by[id(self._components[-1])] = constructor

    def nodes(self) -> list[Node]:
        """The built components with what they declare they need, for the start order."""
        found: list[Node] = []
        for component in self._components:
            constructor = self._built_by.get(id(component))
            given = () if constructor is None else constructor.depends_on
            provides = None if constructor is None else constructor.provides
            depends_on = declared_dependencies(component.instance, given)
            found.append(Node(component, provides, depends_on, self.kind))
        return found

    def plan(self, waves: Sequence[Sequence[Component]]) -> None:
        """Set the start waves and give each hook its wave and start budget."""
        self._waves = [list(wave) for wave in waves]
        for number, wave in enumerate(self._waves, start=1):
            for component in wave:
                constructor = self._built_by.get(id(component))
                for hook in component.hooks.values():
                    hook.wave = number
                    if hook.name in _START_HOOKS:
                        hook.budget = (
                            DEFAULT_START_BUDGET if constructor is None else constructor.budget
                        )
                        hook.budget_variable = (
                            None if constructor is None else constructor.budget_variable
                        )

    async def pre_start(self) -> None:
        """Each wave's ``pre_start`` concurrently, waves in order; a component counts as
        started once its ``pre_start`` returned (or at once, without one)."""
        for wave in self._waves or [self._components]:
            hooks: list[Hook] = []
            for component in wave:
                hook = component.hook("pre_start")
                if hook is None:
                    self._started.append(component)
                else:
                    hooks.append(hook)
            finished: list[Hook] = []
            try:
                await run_wave(hooks, finished, budgeted=True)
            finally:
                done = {id(hook) for hook in finished}
                for component in wave:
                    hook = component.hook("pre_start")
                    if hook is not None and id(hook) in done:
                        self._started.append(component)
                        log.info(
                            "%s started in %.1f ms", component.owner, (hook.duration or 0) * 1e3
                        )

    async def on_start(self) -> None:
        """``on_start_sync`` wave by wave, then ``on_start`` likewise; each wave concurrently."""
        for name in ("on_start_sync", "on_start"):
            for wave in self._started_waves():
                await run_wave(self._hooks(wave, name), budgeted=True)

    def stop_hooks(self) -> list[tuple[str, list[Hook]]]:
        """The stop hooks of started components in the order they run: ``on_stop_sync``
        wave by wave, latest wave first, then ``on_stop`` likewise. Each group runs
        concurrently; within one, hooks are launched latest declared first."""
        waves = [list(reversed(wave)) for wave in reversed(self._started_waves())]
        return [
            (name, hooks)
            for name in ("on_stop_sync", "on_stop")
            for wave in waves
            if (hooks := self._hooks(wave, name))
        ]

    async def on_stop(self) -> None:
        groups = self.stop_hooks()
        self._started.clear()
        for _, hooks in groups:
            await run_wave(hooks)

    def forget_started(self) -> None:
        """Mark every component stopped (after the stop hooks were run elsewhere)."""
        self._started.clear()

    def _started_waves(self) -> list[list[Component]]:
        started = {id(c) for c in self._started}
        waves = self._waves or [self._components]
        return [kept for wave in waves if (kept := [c for c in wave if id(c) in started])]

    @staticmethod
    def _hooks(components: Iterable[Component], name: str) -> list[Hook]:
        return [hook for c in components if (hook := c.hook(name)) is not None]

    def _constructor(
        self, fn: Callable[..., object], key: Any, name: str | None, depends_on: Sequence[Any]
    ) -> _Constructor:
        owner = self._owner(name, key)
        if name is None or self._config is None:
            return _Constructor(fn, key, owner, tuple(depends_on))
        # Parsed now, not at start, so that help lists the variable.
        settings = self._config.parse(StartBudget, name, owner=owner)
        variable = self._config.variable_name("START_TIMEOUT", name)
        budget = settings.start_timeout.total_seconds()
        return _Constructor(fn, key, owner, tuple(depends_on), budget, variable)

    def _owner(self, name: str | None, key: Any) -> str:
        if name is not None:
            return f'{self.kind} "{name}"'
        return f"{self.kind} {qualified_name(key, short=True)}"


class PluginManager(ComponentManager):
    """The plugins of a service, in declaration order."""

    kind = "plugin"


class PackageManager(ComponentManager):
    """The packages of a service: user components with lifecycle hooks."""

    kind = "package"
