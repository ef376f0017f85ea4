"""Lifecycle hooks: found by name on plugin and package instances, run and timed."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from lbtoolkit.runtime._errors import HookSignatureError

__all__ = [
    "HOOK_NAMES",
    "Component",
    "Hook",
    "HookFailedError",
    "check_signature",
    "run_concurrently",
    "run_in_order",
    "tracking_running_hooks",
]

# The guide's hook names, in snake_case. Any other method is left alone.
HOOK_NAMES = ("pre_start", "on_start_sync", "on_start", "on_stop_sync", "on_stop")

log = logging.getLogger("lbtoolkit.lifecycle")

# The hooks running under a start, by id, so that an interrupted start can name
# what it cut short. A context variable reaches every hook the start awaits,
# also those in tasks it spawns (each copies the context, sharing the dict).
_running: ContextVar[dict[int, Hook] | None] = ContextVar("lbtoolkit_running_hooks", default=None)


@dataclass(slots=True)
class Hook:
    """One callable of the lifecycle, with who owns it and how long it ran."""

    owner: str
    name: str
    fn: Callable[[], object]
    duration: float | None = None

    async def __call__(self) -> None:
        log.debug("%s %s: calling", self.owner, self.name)
        running = _running.get()
        if running is not None:
            running[id(self)] = self
        started = time.perf_counter()
        try:
            result = self.fn()
            if inspect.isawaitable(result):
                await result
        finally:
            self.duration = time.perf_counter() - started
            if running is not None:
                running.pop(id(self), None)
        log.debug("%s %s: done in %.1f ms", self.owner, self.name, self.duration * 1e3)

    def __str__(self) -> str:
        return f"{self.owner} {self.name}"


@dataclass(slots=True)
class Component:
    """A plugin or package instance with the lifecycle hooks it defines."""

    owner: str
    instance: object
    hooks: dict[str, Hook] = field(default_factory=dict)

    @classmethod
    def inspect(cls, owner: str, instance: object) -> Component:
        """Find the lifecycle hooks of ``instance``; reject one that needs arguments."""
        component = cls(owner, instance)
        for name in HOOK_NAMES:
            fn = getattr(instance, name, None)
            if fn is None:
                continue
            check_signature(owner, name, fn)
            component.hooks[name] = Hook(owner, name, fn)
        return component

    def hook(self, name: str) -> Hook | None:
        return self.hooks.get(name)


@contextmanager
def tracking_running_hooks(running: dict[int, Hook]) -> Iterator[None]:
    """Within the block, every hook adds itself to ``running`` while it runs."""
    token = _running.set(running)
    try:
        yield
    finally:
        _running.reset(token)


def check_signature(owner: str, name: str, fn: object) -> None:
    """Raise ``HookSignatureError`` unless ``fn`` can be called without arguments."""
    if not callable(fn):
        raise HookSignatureError(owner, name, f"is a {type(fn).__name__}, not a method")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    required = [
        p.name
        for p in signature.parameters.values()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        names = ", ".join(repr(n) for n in required)
        raise HookSignatureError(owner, name, f"requires argument(s) {names}")


class HookFailedError(Exception):
    """Internal carrier: which hook failed, around the error it raised."""

    def __init__(self, hook: Hook, cause: BaseException) -> None:
        super().__init__(hook, cause)
        self.hook = hook
        self.cause = cause


async def run_in_order(hooks: Sequence[Hook]) -> None:
    """Run hooks one after another; the first failure stops the sequence."""
    for hook in hooks:
        try:
            await hook()
        except Exception as error:
            raise HookFailedError(hook, error) from error


async def run_concurrently(hooks: Sequence[Hook]) -> None:
    """Run hooks concurrently and await them all; report the first failure by order."""
    if not hooks:
        return
    results = await asyncio.gather(*(hook() for hook in hooks), return_exceptions=True)
    failures: list[HookFailedError] = []
    for hook, result in zip(hooks, results, strict=True):
        if isinstance(result, Exception):
            failures.append(HookFailedError(hook, result))
        elif isinstance(result, BaseException):
            raise result
    # Only the first failure travels up; the others must not vanish silently.
    for extra in failures[1:]:
        log.error("%s failed as well: %r", extra.hook, extra.cause, exc_info=extra.cause)
    if failures:
        raise failures[0] from failures[0].cause
