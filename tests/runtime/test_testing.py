"""The test support users get: the pytest fixture and the isolated plugin runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import lbtoolkit
from lbtoolkit.runtime import State
from lbtoolkit.testing import new_test_runtime, open_plugin
from tests.runtime.support import Recorder, add_plugin

pytest_plugins = ["lbtoolkit.testing.pytest_plugin"]


async def test_start_service_fixture_starts_the_service(
    start_service: Callable[[lbtoolkit.Service], Awaitable[lbtoolkit.Service]],
) -> None:
    events: list[str] = []
    app = lbtoolkit.new_service("fixture", environ={}, argv=[])
    add_plugin(app, Recorder("db", events))
    started = await start_service(app)
    assert started is app
    assert app.runtime.lifecycle.state is State.STARTED
    assert events[0] == "db.pre_start"


async def test_open_plugin_runs_start_then_stop_hooks() -> None:
    events: list[str] = []
    plugin = Recorder("db", events)
    async with open_plugin(plugin):
        assert events == ["db.pre_start", "db.on_start_sync", "db.on_start"]
    assert events[3:] == ["db.on_stop_sync", "db.on_stop"]


def test_test_runtime_reads_only_the_given_environment() -> None:
    runtime = new_test_runtime(env_prefix="SVC", environ={"SVC_LOG_LEVEL": "DEBUG"})
    assert runtime.settings.log_level == "DEBUG"
    assert runtime.argv == []
