"""The lifecycle: start in dependency waves with rollback, drained and bounded stop.

Start: configuration -> dependency graph -> plugin then package constructors ->
hook names checked -> start order (waves; a cycle fails here) -> plugins
``pre_start`` wave by wave, each wave concurrently -> packages likewise ->
invokes and server constructors -> probes and metrics servers -> servers listen
-> plugins ``on_start_sync`` wave by wave, then ``on_start`` likewise ->
packages likewise -> user start hooks -> ready. ``interrupt()`` (a signal) and
the whole-start budget cancel the start wherever it is and roll back, like a
failure; each start hook also runs within its owner's budget.

Stop (and rollback, restricted to what started): not ready -> servers drain ->
user stop hooks -> packages -> plugins (``on_stop_sync`` latest wave first,
then ``on_stop`` likewise) -> probes and metrics servers -> container finalizers.

Every hook call of a start is recorded in :attr:`Lifecycle.timeline`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, NoReturn

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.runtime._errors import (
    LifecycleStateError,
    PluginConstructionError,
    ShutdownTimeoutError,
    StartError,
    StartInterruptedError,
    StartTimeoutError,
    StopError,
)
from lbtoolkit.runtime._hook_names import check_hook_names
from lbtoolkit.runtime._hooks import (
    Hook,
    HookFailedError,
    run_in_order,
    tracking_running_hooks,
)
from lbtoolkit.runtime._settings import check_environment
from lbtoolkit.runtime._timeline import Timeline, render_timeline
from lbtoolkit.runtime._waves import plan_waves
from lbtoolkit.tools._lifecycle_metrics import HookTiming, LifecycleCollector

if TYPE_CHECKING:
    from lbtoolkit.runtime._runtime import Runtime
    from lbtoolkit.server._manager import Server

__all__ = ["Lifecycle", "State", "UserHooks"]

log = logging.getLogger("lbtoolkit.lifecycle")


class State(enum.Enum):
    CREATED = "created"
    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(slots=True)
class UserHooks:
    """The four hook lists of ``service.register_on_*_hook``."""

    on_start: list[Hook]
    on_start_sync: list[Hook]
    on_stop: list[Hook]
    on_stop_sync: list[Hook]


@dataclass(frozen=True, slots=True)
class _Interruption:
    """Why and where a start was interrupted: the step and the hooks then running."""

    reason: str
    step: str
    running: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Expiry:
    """The whole-start budget ran out: where, the hooks then running, after how long."""

    step: str
    running: tuple[str, ...]
    elapsed: float


@dataclass(slots=True)
class _Step:
    name: str
    hooks: list[Hook]
    concurrent: bool


class Lifecycle:
    """Runs the start and stop sequences of one runtime, once."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.state = State.CREATED
        self.user = UserHooks([], [], [], [])
        self._invokes: list[tuple[str, type]] = []
        self._servers_started: list[Server] = []
        self._tool_servers_started: list[Server] = []
        self._user_started = False
        self._background: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._stop_task: asyncio.Task[None] | None = None
        self._start_task: asyncio.Task[object] | None = None
        self._step = ""
        self._running: dict[int, Hook] = {}
        self._cancellable = False
        self._interruption: _Interruption | None = None
        self._expiry: _Expiry | None = None
        self.error: BaseException | None = None
        self.timeline = Timeline()
        meta = runtime.meta
        runtime.tools.metrics.registry.register(
            LifecycleCollector(
                meta.name,
                meta.version,
                lambda: self.state,
                self._hook_timings,
                lambda: self.timeline.finished,
            )
        )

    def add_invoke(self, label: str, marker: type) -> None:
        self._invokes.append((label, marker))

    def _hook_timings(self) -> Iterator[HookTiming]:
        """How long each hook last ran, read when Prometheus scrapes."""
        runtime, user = self._runtime, self.user
        hooks = [
            h
            for m in (runtime.plugin, runtime.package)
            for c in m.components
            for h in c.hooks.values()
        ]
        hooks += [*user.on_start_sync, *user.on_start, *user.on_stop_sync, *user.on_stop]
        for hook in hooks:
            if hook.duration is not None:
                yield HookTiming(hook.owner, hook.name, hook.duration)

    # -- start -------------------------------------------------------------
    async def start(self) -> None:
        if self.state is not State.CREATED:
            raise LifecycleStateError("start", self.state.value)
        self.state = State.STARTING
        self._start_task = asyncio.current_task()
        self.timeline.restart()
        runtime = self._runtime
        try:
            check_environment(runtime)
            runtime.config.raise_for_issues()
            runtime.injector.build()
        except LbToolkitError:
            self.state = State.FAILED
            self._settled.set()
            raise
        try:
            with tracking_running_hooks(self._running, self.timeline):
                await self._run_start_steps()
        finally:
            self._report_timeline()
        self.state = State.STARTED
        runtime.tools.probes.started = True
        self._settled.set()
        log.info(
            "service %s started in %.1f ms%s",
            runtime.meta.name,
            self.timeline.now() * 1e3,
            _per_component(self.timeline),
        )

    def _report_timeline(self) -> None:
        """The timeline as a table at DEBUG, and as spans when tracing is on."""
        self.timeline.finish()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("start-up timeline:\n%s", render_timeline(self.timeline.records))
        try:
            self.timeline.export_spans(self._runtime.tools.traces, self._runtime.meta.name)
        except Exception:  # tracing must never turn a start into a failure
            log.exception("exporting the start-up spans failed")

    def interrupt(self, reason: str) -> bool:
        """Cancel a start in progress: the running hook is cancelled, what started is
        stopped again, and ``start()`` raises ``StartInterruptedError`` naming ``reason``.

        Returns whether a start was interrupted; outside the start steps (before,
        after, or while a failed start rolls back) it does nothing.
        """
        if not self._cancellable or self._start_task is None:
            return False
        running = tuple(str(hook) for hook in self._running.values())
        self._interruption = _Interruption(reason, self._step, running)
        self._cancellable = False
        self._start_task.cancel()
        return True

    def _expire(self) -> None:
        """The whole-start budget ran out: cancel the start as ``interrupt`` does."""
        if not self._cancellable or self._start_task is None:
            return
        running = tuple(str(hook) for hook in self._running.values())
        self._expiry = _Expiry(self._step, running, self.timeline.now())
        self._cancellable = False
        self._start_task.cancel()

    async def _run_start_steps(self) -> None:
        self._cancellable = True
        budget = self._runtime.settings.start_timeout.total_seconds()
        timer = asyncio.get_running_loop().call_later(
            max(budget - self.timeline.now(), 0), self._expire
        )
        try:
            for step, action in self._start_steps():
                self._step = self.timeline.step = step
                await action()
        except BaseException as error:  # noqa: BLE001 - even a cancelled start rolls back
            timer.cancel()
            self._cancellable = False
            self.timeline.step = "rollback"
            if self._interruption is not None:
                await self._roll_back_interrupted(self._interruption)
            if self._expiry is not None:
                await self._roll_back_expired(self._expiry, budget)
            await self._roll_back(self._step, error)
        timer.cancel()
        self._cancellable = False
        self.timeline.step = "rollback"
        # A hook swallowed the cancellation and the start ran on: it never turns ready.
        if self._interruption is not None:
            await self._roll_back_interrupted(self._interruption)
        if self._expiry is not None:
            await self._roll_back_expired(self._expiry, budget)

    def _start_steps(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        runtime = self._runtime
        return [
            ("plugin constructors", runtime.plugin.build),
            ("package constructors", runtime.package.build),
            ("hook names", self._check_hook_names),
            ("start order", self._plan_waves),
            ("plugins pre_start", runtime.plugin.pre_start),
            ("packages pre_start", runtime.package.pre_start),
            ("invokes", self._run_invokes),
            ("server constructors", self._prepare_servers),
            ("probes and metrics servers", self._start_tool_servers),
            ("servers", self._start_servers),
            ("plugins on_start", runtime.plugin.on_start),
            ("packages on_start", runtime.package.on_start),
            ("user start hooks", self._start_user_hooks),
        ]

    async def _check_hook_names(self) -> None:
        check_hook_names((*self._runtime.plugin.components, *self._runtime.package.components))

    async def _plan_waves(self) -> None:
        runtime = self._runtime
        plugin_waves, package_waves = plan_waves(
            runtime.plugin.nodes(), runtime.package.nodes(), runtime.injector.dependency_graph()
        )
        runtime.plugin.plan(plugin_waves)
        runtime.package.plan(package_waves)

    async def _roll_back_expired(self, expiry: _Expiry, budget: float) -> NoReturn:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # the cancellation was ours; the timeout error says why
        self.timeline.mark_timed_out(expiry.running)
        variable = self._runtime.config.variable_name("START_TIMEOUT")
        error = StartTimeoutError(budget, expiry.elapsed, expiry.running, variable)
        if task is not None and task.cancelling():
            await self._roll_back(expiry.step, asyncio.CancelledError())
        await self._roll_back(expiry.step, error)

    async def _roll_back_interrupted(self, interruption: _Interruption) -> NoReturn:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # the cancellation was ours and is handled here
        located = StartInterruptedError(
            interruption.reason, interruption.step, interruption.running
        )
        log.warning(
            "start interrupted by %s at %s; stopping what started",
            interruption.reason,
            located.location,
        )
        failures = await self._run_stop_sequence()
        self.state = State.FAILED
        self._settled.set()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError  # cancelled from outside as well: that wins
        raise StartInterruptedError(
            interruption.reason,
            interruption.step,
            interruption.running,
            rollback_errors=[e for _, e in failures],
        )

    async def _roll_back(self, step: str, error: BaseException) -> NoReturn:
        owner = hook = None
        cause = error
        if isinstance(error, HookFailedError):
            owner, hook, cause = error.hook.owner, error.hook.name, error.cause
        elif isinstance(error, PluginConstructionError):
            owner, hook, cause = error.owner, "constructor", error.cause
        log.error("start failed at %s; stopping what started", step)
        failures = await self._run_stop_sequence()
        self.state = State.FAILED
        self._settled.set()
        if isinstance(error, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
            raise error
        raise StartError(
            step, cause, owner=owner, hook=hook, rollback_errors=[e for _, e in failures]
        ) from cause

    async def _run_invokes(self) -> None:
        for label, marker in self._invokes:
            hook = Hook("invoke", label, partial(self._runtime.injector.get, marker))
            await run_in_order([hook])

    async def _prepare_servers(self) -> None:
        container = self._runtime.injector.container
        server = self._runtime.server
        for s in (*server.tool_servers, *server.servers):
            await run_in_order([Hook(f"server {s.name}", "prepare", partial(s.prepare, container))])

    async def _start_tool_servers(self) -> None:
        for s in self._runtime.server.tool_servers:
            await run_in_order([Hook(f"server {s.name}", "start", s.start)])
            self._tool_servers_started.append(s)

    async def _start_servers(self) -> None:
        for s in self._runtime.server.servers:
            await run_in_order([Hook(f"server {s.name}", "start", s.start)])
            self._servers_started.append(s)

    async def _start_user_hooks(self) -> None:
        self._user_started = True
        await run_in_order(self.user.on_start_sync)
        for hook in self.user.on_start:
            task = asyncio.create_task(self._background_hook(hook), name=str(hook))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    @staticmethod
    async def _background_hook(hook: Hook) -> None:
        try:
            await hook()
        except Exception:
            log.exception("%s failed", hook)

    # -- stop --------------------------------------------------------------
    async def stop(self) -> None:
        """Stop once; concurrent callers wait for the same stop."""
        if self.state is State.CREATED:
            raise LifecycleStateError("stop", "not started")
        if self.state is State.STARTING:
            current = asyncio.current_task()
            if current is self._start_task or any(
                hook.task is current for hook in self._running.values()
            ):
                hint = (
                    "stop() awaited from inside start would wait for itself; "
                    "raise an exception to fail the start, or call stop() from another task"
                )
                raise LifecycleStateError("stop", self.state.value, hint)
            await self._settled.wait()
        if self.state in (State.FAILED, State.STOPPED) and self._stop_task is None:
            return
        if self._stop_task is None:
            self._stop_task = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stop_task)

    async def _stop(self) -> None:
        self.state = State.STOPPING
        began = time.perf_counter()
        failures = await self._run_stop_sequence()
        self.state = State.STOPPED
        log.info(
            "service %s stopped in %.1f ms",
            self._runtime.meta.name,
            (time.perf_counter() - began) * 1e3,
        )
        if failures:
            raise StopError(failures)

    async def _run_stop_sequence(self) -> list[tuple[str, BaseException]]:
        """Run every stop step within the shutdown timeout; gather all failures."""
        runtime = self._runtime
        was_ready, runtime.tools.probes.started = runtime.tools.probes.started, False
        for task in list(self._background):
            task.cancel()
        steps = self._stop_plan()
        done: set[int] = set()
        failures: list[tuple[str, BaseException]] = []
        timeout = runtime.settings.shutdown_timeout.total_seconds()
        draining = False
        try:
            async with asyncio.timeout(timeout):
                # Not ready, still serving: registries are left and load balancers
                # notice before servers refuse calls.
                await runtime.tools.probes.withdraw()
                if was_ready and runtime.settings.drain_delay:
                    draining = True
                    await asyncio.sleep(runtime.settings.drain_delay.total_seconds())
                    draining = False
                for step in steps:
                    await _run_step(step, done, failures)
        except TimeoutError:
            abandoned = [str(h) for s in steps for h in s.hooks if id(h) not in done]
            config = runtime.config
            error = ShutdownTimeoutError(
                timeout,
                abandoned,
                config.variable_name("SHUTDOWN_TIMEOUT"),
                config.variable_name("DRAIN_DELAY") if draining else "",
            )
            log.error("%s", error)  # noqa: TRY400 - the timeout's traceback says nothing useful
            failures.append(("shutdown", error))
        runtime.plugin.forget_started()
        runtime.package.forget_started()
        return failures

    def _stop_plan(self) -> list[_Step]:
        runtime = self._runtime
        timeout = runtime.settings.shutdown_timeout.total_seconds()
        servers, self._servers_started = self._servers_started[::-1], []
        tools, self._tool_servers_started = self._tool_servers_started[::-1], []
        steps = [
            _Step("servers", [_stop_hook(s, timeout) for s in servers], concurrent=True),
        ]
        if self._user_started:
            self._user_started = False
            steps += [
                _Step("user stop hooks", list(self.user.on_stop_sync), concurrent=False),
                _Step("user stop hooks", list(self.user.on_stop), concurrent=True),
            ]
        for manager in (runtime.package, runtime.plugin):
            steps += [
                _Step(f"{manager.kind}s {name}", hooks, concurrent=True)
                for name, hooks in manager.stop_hooks()
            ]
        steps += [
            _Step(
                "probes and metrics servers",
                [_stop_hook(s, timeout) for s in tools],
                concurrent=True,
            ),
            _Step("clients", [Hook("clients", "close", runtime.client.close)], concurrent=False),
            _Step(
                "dependency container",
                [Hook("dependency container", "close", runtime.injector.close)],
                concurrent=False,
            ),
        ]
        return steps


def _stop_hook(server: Server, timeout: float) -> Hook:
    return Hook(f"server {server.name}", "stop", lambda: server.stop(timeout))


async def _run_step(step: _Step, done: set[int], failures: list[tuple[str, BaseException]]) -> None:
    """Best effort: a failing hook is recorded and the others still run."""

    async def one(hook: Hook) -> None:
        # A hook cancelled by the shutdown timeout stays out of ``done``: it was abandoned.
        try:
            await hook()
        except Exception as error:
            log.exception("%s failed", hook)
            failures.append((str(hook), error))
        done.add(id(hook))

    if step.concurrent:
        await asyncio.gather(*(one(h) for h in step.hooks))
    else:
        for hook in step.hooks:
            await one(hook)


def _per_component(timeline: Timeline) -> str:
    """``: db 58.4 ms, cache 5.8 ms``: the time each plugin and package took to start.

    One line says where a slow start went, without the DEBUG table.
    """
    took: dict[str, float] = {}
    for record in sorted(timeline.records, key=lambda r: r.start):
        kind, _, name = record.owner.partition(" ")
        if kind == "plugin":
            label = name.strip('"')
        elif kind == "package":
            label = record.owner
        else:
            continue
        took[label] = took.get(label, 0.0) + record.duration
    if not took:
        return ""
    return ": " + ", ".join(f"{label} {seconds * 1e3:.1f} ms" for label, seconds in took.items())
