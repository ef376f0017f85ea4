"""Plugins that record their hooks, and a way to build services around them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import lbtoolkit


class Recorder:
    """A plugin (or package) whose hooks append ``"<name>.<hook>"`` to a shared log."""

    def __init__(self, name: str, events: list[str], fail: Iterable[str] = ()) -> None:
        self.name = name
        self.events = events
        self.fail = set(fail)

    async def _hook(self, hook: str) -> None:
        self.events.append(f"{self.name}.{hook}")
        await asyncio.sleep(0)
        if hook in self.fail:
            raise RuntimeError(f"{self.name} {hook} exploded")

    async def pre_start(self) -> None:
        await self._hook("pre_start")

    def on_start_sync(self) -> None:  # plain functions are hooks too
        self.events.append(f"{self.name}.on_start_sync")
        if "on_start_sync" in self.fail:
            raise RuntimeError(f"{self.name} on_start_sync exploded")

    async def on_start(self) -> None:
        await self._hook("on_start")

    async def on_stop_sync(self) -> None:
        await self._hook("on_stop_sync")

    async def on_stop(self) -> None:
        await self._hook("on_stop")


ServiceFactory = Callable[..., lbtoolkit.Service]


def service_factory() -> ServiceFactory:
    def make(
        name: str = "svc",
        *,
        env_prefix: str | None = "SVC",
        environ: dict[str, str] | None = None,
        argv: list[str] | None = None,
    ) -> lbtoolkit.Service:
        return lbtoolkit.new_service(
            name, env_prefix=env_prefix, environ=environ or {}, argv=argv or []
        )

    return make


def add_plugin(app: lbtoolkit.Service, plugin: Recorder, provides: object = None) -> None:
    """Register a plugin the way generated code does."""
    key = provides or type(f"{plugin.name.title()}Plugin", (Recorder,), {})
    app.runtime.plugin.provide_value(plugin, provides=key, name=plugin.name)
