"""``Service``: the guide's ``toolkit.Service`` in snake_case, and ``new_service``."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from dishka import Scope
from pydantic import BaseModel

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit._names import qualified_name
from lbtoolkit.client import ChannelPool
from lbtoolkit.config import ConfigController
from lbtoolkit.runtime._components import PackageManager, PluginManager
from lbtoolkit.runtime._errors import (
    HelpShown,
    LifecycleStateError,
    StartInterruptedError,
    StopError,
)
from lbtoolkit.runtime._help import help_requested, render_help
from lbtoolkit.runtime._hooks import Hook, check_signature
from lbtoolkit.runtime._lifecycle import State
from lbtoolkit.runtime._logging import configure_logging
from lbtoolkit.runtime._runtime import Meta, Runtime
from lbtoolkit.runtime._settings import ServiceSettings
from lbtoolkit.runtime._waves import plan_waves
from lbtoolkit.runtime._workers import serve_as_worker, worker_number
from lbtoolkit.server._manager import ServerManager
from lbtoolkit.tools import Metrics, Probes, Tools, Traces

if TYPE_CHECKING:
    # Read by type checkers only: a Protocol (a generated plugin type) is accepted
    # where ``type[T]`` would take concrete classes alone.
    from typing_extensions import TypeForm

__all__ = ["Service", "new_service"]

HookFunction = Callable[[], Awaitable[object] | object]
T = TypeVar("T")


def new_service(
    name: str,
    *,
    version: str | None = None,
    description: str | None = None,
    env_prefix: str | None = None,
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> Service:
    """Create a service. Variables are named ``{ENV_PREFIX}_{PLUGIN}_{FIELD}``.

    ``environ`` and ``argv`` default to the process's own; tests pass their own.
    """
    meta = Meta(name, version, description, env_prefix or "")
    return Service(Runtime(meta, environ=environ, argv=argv))


class Service:
    """A microservice: its plugins, packages, servers and lifecycle."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stop_requested = asyncio.Event()
        self._signal: signal.Signals | None = None
        self._error: BaseException | None = None
        injector = runtime.injector
        for value, provides in (
            (runtime, Runtime),
            (self, Service),
            (runtime.meta, Meta),
            (runtime.log, logging.Logger),
            (runtime.config, ConfigController),
            (runtime.settings, ServiceSettings),
            (runtime.plugin, PluginManager),
            (runtime.package, PackageManager),
            (runtime.server, ServerManager),
            (runtime.client, ChannelPool),
            (runtime.tools, Tools),
            (runtime.tools.probes, Probes),
            (runtime.tools.metrics, Metrics),
            (runtime.tools.traces, Traces),
        ):
            injector.provide_value(value, provides)

    # -- the guide's accessors ----------------------------------------------
    @property
    def meta(self) -> Meta:
        return self.runtime.meta

    @property
    def log(self) -> logging.Logger:
        return self.runtime.log

    @property
    def config(self) -> ConfigController:
        return self.runtime.config

    @property
    def plugin(self) -> PluginManager:
        return self.runtime.plugin

    @property
    def package(self) -> PackageManager:
        return self.runtime.package

    @property
    def server(self) -> ServerManager:
        return self.runtime.server

    @property
    def client(self) -> ChannelPool:
        return self.runtime.client

    @property
    def tools(self) -> Tools:
        return self.runtime.tools

    @property
    def error(self) -> BaseException | None:
        """The error given to ``stop(error)``, if any."""
        return self._error

    # -- registration --------------------------------------------------------
    def register_config(self, *models: type[BaseModel]) -> None:
        """Parse configs under the service prefix; each instance is injectable by type."""
        for model in models:
            instance = self.runtime.config.parse(model, "", owner=f"config {model.__qualname__}")
            self.runtime.injector.provide_value(instance, model)

    def register_plugin(self, *constructors: Callable[..., object]) -> None:
        """Add plugins built by constructors (wired by type hints) at start."""
        self.runtime.plugin.provide(*constructors)

    def register_package(self, *constructors: Callable[..., object]) -> None:
        """Add packages: user components whose lifecycle hooks run after the plugins'."""
        self.runtime.package.provide(*constructors)

    def provide(
        self, constructor: Callable[..., object], *, provides: Any = None, scope: Scope = Scope.APP
    ) -> None:
        """Make a constructor's result injectable (``Scope.REQUEST``: fresh per request)."""
        self.runtime.injector.provide(constructor, provides=provides, scope=scope)

    def override(self, provides: TypeForm[T], value: T) -> None:
        """Before start, make ``value`` what is injected as ``provides``, in place of
        the plugin, package or provided value registered for it.

        A replaced plugin or package is never built (or, built already by the
        generated code, never started, and its health checks are withdrawn);
        ``value``'s own hooks run in its place, under its name, start budget and
        wave. Raises ``LifecycleStateError`` once the start has begun, and
        ``NotProvidedError`` (listing what is provided) when nothing provides
        ``provides``.
        """
        state = self.runtime.lifecycle.state
        if state is not State.CREATED:
            raise LifecycleStateError(
                f"override {qualified_name(provides)}",
                state.value,
                "override dependencies before start(), on the service built for the test",
            )
        if (
            isinstance(provides, type)
            and not getattr(provides, "_is_protocol", False)
            and not isinstance(value, provides)
        ):
            msg = (
                f"cannot override {qualified_name(provides)} with a "
                f"{qualified_name(type(value))}, which is no subclass of it"
            )
            raise TypeError(msg)
        for manager in (self.runtime.plugin, self.runtime.package):
            if manager.provides(provides):
                for original in manager.override(provides, value):
                    self._withdraw_checks(original)
                return
        self.runtime.injector.override(provides, value)

    def _withdraw_checks(self, original: object) -> None:
        """Drop the health checks a replaced plugin registered when it was built."""
        probes = self.runtime.tools.probes
        for kind in ("liveness", "readiness"):
            for check in probes.checks(kind):
                if getattr(check.fn, "__self__", None) is original:
                    probes.remove_check(check.name, check.kind)

    def invoke(self, function: Callable[..., object]) -> None:
        """Call ``function`` at start, after the packages' ``pre_start``, with its dependencies."""
        marker = self.runtime.injector.provide_call(function)
        self.runtime.lifecycle.add_invoke(qualified_name(function), marker)

    def register_on_start_hook(self, fn: HookFunction) -> None:
        """Run ``fn`` in the background once everything started; its errors are logged."""
        self.runtime.lifecycle.user.on_start.append(_user_hook(fn, "on_start"))

    def register_on_start_sync_hook(self, fn: HookFunction) -> None:
        """Run ``fn`` at the end of start, in order; an error aborts the start."""
        self.runtime.lifecycle.user.on_start_sync.append(_user_hook(fn, "on_start_sync"))

    def register_on_stop_hook(self, fn: HookFunction) -> None:
        """Run ``fn`` at stop, concurrently with the other such hooks."""
        self.runtime.lifecycle.user.on_stop.append(_user_hook(fn, "on_stop"))

    def register_on_stop_sync_hook(self, fn: HookFunction) -> None:
        """Run ``fn`` at stop, in order, before the concurrent stop hooks."""
        self.runtime.lifecycle.user.on_stop_sync.append(_user_hook(fn, "on_stop_sync"))

    async def plan_waves(self) -> tuple[list[list[str]], list[list[str]]]:
        """The start waves of the plugins and of the packages, without starting.

        Each wave lists its members as the lifecycle names them (``plugin
        "cache"``); stop runs them in reverse. It validates the dependency graph
        and builds the plugins and packages (constructors never connect:
        connecting belongs to ``pre_start``), but runs no hook; the service can
        still be started afterwards, with the same instances. Raises
        ``DependencyError``, ``PluginConstructionError`` or
        ``DependencyCycleError`` as the start would.
        """
        runtime = self.runtime
        if runtime.lifecycle.state is not State.CREATED:
            raise LifecycleStateError("plan the start order", runtime.lifecycle.state.value)
        runtime.injector.build()
        await runtime.plugin.build()
        await runtime.package.build()
        plugin_waves, package_waves = plan_waves(
            runtime.plugin.nodes(), runtime.package.nodes(), runtime.injector.dependency_graph()
        )
        return (
            [[c.owner for c in wave] for wave in plugin_waves],
            [[c.owner for c in wave] for wave in package_waves],
        )

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        """Start everything in order; on failure roll back and raise naming the culprit.

        With a help argument (``-h``, ``--help``, ``h``, ``help``) print the help
        and raise ``HelpShown`` (a ``SystemExit`` with code 0) instead.
        """
        if help_requested(self.runtime.argv):
            sys.stdout.write(render_help(self.runtime) + "\n")
            sys.stdout.flush()
            raise HelpShown
        await self.runtime.lifecycle.start()

    async def stop(self, error: BaseException | None = None) -> None:
        """Stop (drain servers, then hooks); with ``error``, ``run()`` exits non-zero."""
        if error is not None and self._error is None:
            self._error = error
            self.log.error("stopping because of an error: %s", error)
        self._stop_requested.set()
        await self.runtime.lifecycle.stop()

    def run(self) -> int:
        """Run until SIGTERM/SIGINT or ``stop()``; return the process exit code.

        0 after a clean stop; 1 when the start failed, a stop hook failed or
        ``stop(error)`` was called; 128 + the signal's number (143 for SIGTERM,
        130 for SIGINT) when a signal interrupted the start.
        """
        settings = self.runtime.settings
        configure_logging(
            self.meta.name,
            getattr(settings, "log_level", "INFO"),
            getattr(settings, "log_format", "text"),
        )
        # {PREFIX}_WORKERS > 1: this process supervises workers, each this program again.
        workers = getattr(settings, "workers", 1)
        if worker_number() is not None:
            serve = serve_as_worker(self.runtime, self._serve)
        elif workers > 1 and not help_requested(self.runtime.argv):
            # Only a supervising process needs it: a single process or a worker never loads it.
            from lbtoolkit.runtime._supervisor import Supervisor  # noqa: PLC0415 - lazy: supervisor only

            return Supervisor(self.runtime, workers).run()
        else:
            serve = self._serve()
        try:
            return asyncio.run(serve)
        except KeyboardInterrupt:
            return 130

    async def _serve(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        try:
            await self.start()
        except HelpShown:
            return 0
        except StartInterruptedError:
            # The lifecycle logged where the start was cut short; nothing to add.
            return 128 + self._signal if self._signal is not None else 1
        except LbToolkitError as error:
            sys.stderr.write(f"{self.meta.name}: {error}\n")
            return 1
        # What start-up built (modules, descriptors, the container, pools) lives
        # as long as the process: kept out of the collector's generations, it is
        # no longer walked by every full collection under load. No collection
        # first: it found nothing to free at this point, and would delay the
        # first answer.
        gc.freeze()
        await self._stop_requested.wait()
        try:
            await self.stop()
        except StopError as error:
            sys.stderr.write(f"{self.meta.name}: {error}\n")
            return 1
        return 1 if self._error is not None else 0

    def _on_signal(self, signum: signal.Signals) -> None:
        if self._stop_requested.is_set():
            if signum == signal.SIGINT:
                self.log.warning("second interrupt: exiting at once")
                os._exit(130)
            return
        self._signal = signum
        self._stop_requested.set()
        # During start the lifecycle cancels the running hook and logs where.
        if not self.runtime.lifecycle.interrupt(signum.name):
            self.log.info("received %s: stopping", signum.name)


def _user_hook(fn: HookFunction, kind: str) -> Hook:
    owner = f"user hook {qualified_name(fn)}"
    check_signature(owner, kind, fn)
    return Hook(owner, kind, fn)
