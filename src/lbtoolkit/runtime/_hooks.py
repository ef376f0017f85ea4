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

from lbtoolkit.runtime._errors import HookSignatureError, HookTimeoutError
from lbtoolkit.runtime._timeline import HookOutcome, Timeline

__all__ = [
    "HOOK_NAMES",
    "Component",
    "Hook",
    "HookFailedError",
    "check_signature",
    "run_in_order",
    "run_wave",
    "tracking_running_hooks",
]

# The guide's hook names, in snake_case. Any other method is left alone.
HOOK_NAMES = ("pre_start", "on_start_sync", "on_start", "on_stop_sync", "on_stop")

log = logging.getLogger("lbtoolkit.lifecycle")

# The hooks running under a start, by id, so that an interrupted start can name
# what it cut short; and the timeline their calls are recorded in. Context
# variables reach every hook the start awaits, also those in tasks it spawns
# (each copies the context, sharing the dict and the timeline).
_running: ContextVar[dict[int, Hook] | None] = ContextVar("lbtoolkit_running_hooks", default=None)
_timeline: ContextVar[Timeline | None] = ContextVar("lbtoolkit_timeline", default=None)


@dataclass(slots=True)
class Hook:
    """One callable of the lifecycle, with who owns it and how long it ran.

    ``budget`` (seconds) bounds a call made with ``budgeted=True``: past it the
    hook is cancelled and ``HookTimeoutError`` raised; ``budget_variable`` is
    the setting that sets it. ``wave`` is the dependency wave of its owner.
    """

    owner: str
    name: str
    fn: Callable[[], object]
    duration: float | None = None
    budget: float | None = None
    budget_variable: str | None = None
    wave: int | None = None
    # The task running the call, while it runs: a hook's own task is part of the start.
    task: asyncio.Task[object] | None = field(default=None, repr=False)

    async def __call__(self, *, budgeted: bool = False) -> None:
        log.debug("%s %s: calling", self.owner, self.name)
        running, timeline = _running.get(), _timeline.get()
        if running is not None:
            running[id(self)] = self
        self.task = asyncio.current_task()
        offset = timeline.now() if timeline is not None else 0.0
        started = time.perf_counter()
        outcome = HookOutcome.FAILED
        budget = self.budget if budgeted else None
        try:
            async with asyncio.timeout(budget) as deadline:
                result = self.fn()
                if inspect.isawaitable(result):
                    await result
            outcome = HookOutcome.OK
        except TimeoutError:
            if not deadline.expired() or budget is None:
                raise  # the hook's own timeout, not its budget
            outcome = HookOutcome.TIMED_OUT
            elapsed = time.perf_counter() - started
            raise HookTimeoutError(
                self.owner, self.name, budget, elapsed, self.budget_variable
            ) from None
        except asyncio.CancelledError:
            outcome = HookOutcome.CANCELLED
            raise
        finally:
            self.duration = time.perf_counter() - started
            self.task = None
            if running is not None:
                running.pop(id(self), None)
            if timeline is not None:
                timeline.add(self.owner, self.name, self.wave, offset, outcome)
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
def tracking_running_hooks(running: dict[int, Hook], timeline: Timeline) -> Iterator[None]:
    """Within the block, every hook adds itself to ``running`` while it runs, and its
    call to ``timeline`` when it ends."""
    token = _running.set(running)
    recording = _timeline.set(timeline)
    try:
        yield
    finally:
        _timeline.reset(recording)
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


async def run_wave(
    hooks: Sequence[Hook], finished: list[Hook] | None = None, *, budgeted: bool = False
) -> None:
    """Run the hooks of one wave concurrently; append those that succeed to ``finished``.

    A failure does not cut the others short: each runs to its end (within its
    own budget when ``budgeted``), so every member either failed or finished
    and can be stopped again; none is left half-started. The first failure to
    happen is raised as ``HookFailedError``; later ones are logged. When the
    wave itself is cancelled (a signal, the start budget), its hooks are
    cancelled and awaited before the cancellation goes on, so none outlives
    the start; ``finished`` is complete either way.
    """
    if not hooks:
        return
    tasks = [asyncio.create_task(hook(budgeted=budgeted), name=str(hook)) for hook in hooks]
    ended: list[asyncio.Task[None]] = []
    for task in tasks:
        task.add_done_callback(ended.append)
    try:
        await asyncio.wait(tasks)
    finally:
        for task in tasks:
            task.cancel()  # only those still running: the wave itself was cancelled
        await asyncio.gather(*tasks, return_exceptions=True)
        if finished is not None:
            finished += [h for h, t in zip(hooks, tasks, strict=True) if _succeeded(t)]
    hook_of = {id(task): hook for hook, task in zip(hooks, tasks, strict=True)}
    failures = [
        HookFailedError(hook_of[id(task)], error)
        for task in ended
        if not task.cancelled() and isinstance(error := task.exception(), Exception)
    ]
    for extra in failures[1:]:
        log.error("%s failed as well: %r", extra.hook, extra.cause, exc_info=extra.cause)
    if failures:
        raise failures[0] from failures[0].cause
    for task in tasks:
        # A BaseException that is no cancellation (KeyboardInterrupt) goes on.
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error


def _succeeded(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None
