"""``Lifecycle.interrupt``: what a signal during start does, in one event loop."""

from __future__ import annotations

import asyncio

import pytest

import lbtoolkit
from lbtoolkit.runtime import State
from tests.runtime.support import Recorder, ServiceFactory, add_plugin


class Waiting(Recorder):
    """A plugin whose ``on_start`` waits until cancelled; ``began`` is set once it waits."""

    def __init__(self, name: str, events: list[str]) -> None:
        super().__init__(name, events)
        self.began = asyncio.Event()

    async def on_start(self) -> None:
        self.events.append(f"{self.name}.on_start")
        self.began.set()
        await asyncio.Event().wait()


async def test_interrupt_cancels_every_running_hook_and_names_them(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    plugins = [Waiting("pgsql", events), Waiting("redis", events)]
    for plugin in plugins:
        add_plugin(app, plugin)
    start = asyncio.create_task(app.start())
    async with asyncio.timeout(5):
        for plugin in plugins:
            await plugin.began.wait()
    assert app.runtime.lifecycle.interrupt("SIGTERM")
    with pytest.raises(lbtoolkit.StartInterruptedError) as caught:
        await start
    assert str(caught.value) == (
        'start interrupted by SIGTERM at plugins on_start: plugin "pgsql" on_start, '
        'plugin "redis" on_start cancelled; what had started was stopped'
    )
    assert caught.value.running == ('plugin "pgsql" on_start', 'plugin "redis" on_start')
    assert events[-4:] == [
        "redis.on_stop_sync",
        "pgsql.on_stop_sync",
        "redis.on_stop",
        "pgsql.on_stop",
    ]
    assert app.runtime.lifecycle.state is State.FAILED
    assert not app.runtime.tools.probes.started
    assert not start.cancelled()


async def test_interrupt_outside_start_does_nothing(make_service: ServiceFactory) -> None:
    events: list[str] = []
    app = make_service()
    add_plugin(app, Recorder("pgsql", events))
    assert not app.runtime.lifecycle.interrupt("SIGTERM")
    await app.start()
    assert not app.runtime.lifecycle.interrupt("SIGTERM")
    assert app.runtime.lifecycle.state is State.STARTED
    await app.stop()
    assert not app.runtime.lifecycle.interrupt("SIGTERM")


async def test_outside_cancellation_during_start_still_cancels_after_rollback(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    waiting = Waiting("pgsql", events)
    add_plugin(app, waiting)

    async def cancel_once_waiting() -> None:
        await waiting.began.wait()
        start.cancel()

    start = asyncio.create_task(app.start())
    canceller = asyncio.create_task(cancel_once_waiting())
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await start
    await canceller
    assert events[-1] == "pgsql.on_stop"
    assert app.runtime.lifecycle.state is State.FAILED


async def test_interrupt_before_any_hook_names_the_step(make_service: ServiceFactory) -> None:
    app = make_service()
    constructing = asyncio.Event()

    async def build_slowly() -> object:
        constructing.set()
        await asyncio.Event().wait()
        return object()

    app.runtime.plugin.provide(build_slowly, provides=Waiting, name="slow")
    start = asyncio.create_task(app.start())
    async with asyncio.timeout(5):
        await constructing.wait()
    assert app.runtime.lifecycle.interrupt("SIGINT")
    with pytest.raises(lbtoolkit.StartInterruptedError) as caught:
        await start
    assert str(caught.value) == (
        "start interrupted by SIGINT at plugin constructors; what had started was stopped"
    )
