"""Building plugins and services in tests: the guide's ``NewTestPlugin`` pattern."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TypeVar

from lbtoolkit.runtime import Meta, Runtime, Service, State
from lbtoolkit.runtime._hooks import Component, run_concurrently, run_in_order

__all__ = ["new_test_runtime", "open_plugin", "open_service"]

T = TypeVar("T")


def new_test_runtime(
    name: str = "test",
    *,
    env_prefix: str = "",
    environ: Mapping[str, str] | None = None,
) -> Runtime:
    """A runtime for building one plugin in isolation.

    It reads only ``environ`` (empty by default), never the process
    environment, so a test states every variable it relies on.
    """
    return Runtime(Meta(name, None, None, env_prefix), environ=environ or {}, argv=[])


@asynccontextmanager
async def open_plugin(plugin: T, *, owner: str = "plugin under test") -> AsyncIterator[T]:
    """Run a plugin's start hooks, yield it, then its stop hooks (even on failure).

    The runtime's configuration issues are not checked here: call
    ``runtime.config.raise_for_issues()`` first when the test depends on them.
    """
    component = Component.inspect(owner, plugin)
    start = [h for name in ("pre_start", "on_start_sync") if (h := component.hook(name))]
    await run_in_order(start)
    if (on_start := component.hook("on_start")) is not None:
        await run_concurrently([on_start])
    try:
        yield plugin
    finally:
        if (on_stop_sync := component.hook("on_stop_sync")) is not None:
            await run_in_order([on_stop_sync])
        if (on_stop := component.hook("on_stop")) is not None:
            await run_concurrently([on_stop])


@asynccontextmanager
async def open_service(service: Service) -> AsyncIterator[Service]:
    """Start a service in this event loop, yield it, and stop it at the end."""
    await service.start()
    try:
        yield service
    finally:
        if service.runtime.lifecycle.state is State.STARTED:
            await service.stop()
