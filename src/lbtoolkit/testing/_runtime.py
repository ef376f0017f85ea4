"""Running plugins and services in tests: start hooks, yield, stop hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from lbtoolkit.runtime import Service, State
from lbtoolkit.runtime._hooks import Component, Hook

__all__ = ["open_plugin", "open_service"]

T = TypeVar("T")


@asynccontextmanager
async def open_plugin(plugin: T, *, owner: str = "plugin under test") -> AsyncIterator[T]:
    """Run a plugin's start hooks, yield it, then its stop hooks (even on failure).

    The runtime's configuration issues are not checked here: call
    ``runtime.config.raise_for_issues()`` first when the test depends on them.
    """
    component = Component.inspect(owner, plugin)
    for name in ("pre_start", "on_start_sync", "on_start"):
        await _call(component.hook(name))
    try:
        yield plugin
    finally:
        for name in ("on_stop_sync", "on_stop"):
            await _call(component.hook(name))


async def _call(hook: Hook | None) -> None:
    """Run one hook; its own error reaches the test, as if the hook were called directly."""
    if hook is not None:
        await hook()


@asynccontextmanager
async def open_service(service: Service) -> AsyncIterator[Service]:
    """Start a service in this event loop, yield it, and stop it at the end."""
    await service.start()
    try:
        yield service
    finally:
        if service.runtime.lifecycle.state is State.STARTED:
            await service.stop()
