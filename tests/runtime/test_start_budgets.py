"""Start budgets: per plugin instance and for the whole start; both roll the start back."""

from __future__ import annotations

import asyncio
import re
from typing import ClassVar

import pytest

import lbtoolkit
from lbtoolkit.config import ConfigError
from lbtoolkit.runtime import HookOutcome, HookTimeoutError, StartTimeoutError, State
from lbtoolkit.runtime._help import render_help
from tests.runtime.support import Recorder, ServiceFactory


class First(Recorder):
    def __init__(self, events: list[str]) -> None:
        super().__init__("first", events)


class Second(Recorder):
    depends_on: ClassVar[tuple[type, ...]] = (First,)

    def __init__(self, events: list[str]) -> None:
        super().__init__("second", events)


class Hung(Recorder):
    """Its ``pre_start`` waits for an event that never comes."""

    depends_on: ClassVar[tuple[type, ...]] = (Second,)

    def __init__(self, events: list[str]) -> None:
        super().__init__("hung", events)

    async def pre_start(self) -> None:
        self.events.append("hung.pre_start")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.events.append("hung.cancelled")
            raise


def chain(
    make_service: ServiceFactory, events: list[str], environ: dict[str, str]
) -> lbtoolkit.Service:
    app = make_service(environ=environ)
    for plugin in (First(events), Second(events), Hung(events)):
        app.runtime.plugin.provide_value(plugin, name=plugin.name)
    return app


async def test_a_hung_pre_start_is_cancelled_at_its_budget_and_the_start_rolled_back(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = chain(make_service, events, {"SVC_HUNG_START_TIMEOUT": "1s"})
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    error = caught.value
    assert (error.owner, error.hook, error.step) == (
        'plugin "hung"',
        "pre_start",
        "plugins pre_start",
    )
    timeout = error.cause
    assert isinstance(timeout, HookTimeoutError)
    assert (timeout.owner, timeout.hook, timeout.budget) == ('plugin "hung"', "pre_start", 1.0)
    assert timeout.variable == "SVC_HUNG_START_TIMEOUT"
    assert timeout.elapsed >= 1.0
    assert re.fullmatch(
        r'start failed at plugins pre_start: plugin "hung" pre_start: HookTimeoutError: '
        r'plugin "hung" pre_start did not finish within its start budget of 1s; '
        r"cancelled after \d+\.\d\ds\. Hint: raise SVC_HUNG_START_TIMEOUT, or find out what "
        r"the hook waits for",
        str(error),
    ), str(error)
    # Everything that started is stopped again, latest wave first.
    assert events == [
        "first.pre_start",
        "second.pre_start",
        "hung.pre_start",
        "hung.cancelled",
        "second.on_stop_sync",
        "first.on_stop_sync",
        "second.on_stop",
        "first.on_stop",
    ]
    assert app.runtime.lifecycle.state is State.FAILED
    hung = next(r for r in app.runtime.timeline.records if r.owner == 'plugin "hung"')
    assert hung.outcome is HookOutcome.TIMED_OUT


async def test_the_whole_start_budget_cancels_the_start_and_names_what_ran(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    # The plugin's own budget (30s by default) is far off; the start's runs out first.
    app = chain(make_service, events, {"SVC_START_TIMEOUT": "500ms"})
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    error = caught.value
    assert error.step == "plugins pre_start"
    timeout = error.cause
    assert isinstance(timeout, StartTimeoutError)
    assert timeout.running == ('plugin "hung" pre_start',)
    assert (timeout.budget, timeout.variable) == (0.5, "SVC_START_TIMEOUT")
    assert re.fullmatch(
        r"start failed at plugins pre_start: StartTimeoutError: the start did not finish within "
        r"SVC_START_TIMEOUT=500ms \(ran \d+ms\); cancelled plugin \"hung\" pre_start\. Hint: "
        r"raise SVC_START_TIMEOUT, or find the slow hook in the start-up timeline "
        r"\(LOG_LEVEL=debug\)",
        str(error),
    ), str(error)
    assert events[3:] == [
        "hung.cancelled",
        "second.on_stop_sync",
        "first.on_stop_sync",
        "second.on_stop",
        "first.on_stop",
    ]
    hung = next(r for r in app.runtime.timeline.records if r.owner == 'plugin "hung"')
    assert hung.outcome is HookOutcome.TIMED_OUT


async def test_an_on_start_past_its_budget_fails_the_start_too(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []

    class Sleepy(Recorder):
        async def on_start(self) -> None:
            await asyncio.Event().wait()

    app = make_service(environ={"SVC_SLEEPY_START_TIMEOUT": "300ms"})
    app.runtime.plugin.provide_value(Sleepy("sleepy", events), name="sleepy")
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert isinstance(caught.value.cause, HookTimeoutError)
    assert (caught.value.owner, caught.value.hook) == ('plugin "sleepy"', "on_start")
    assert events[-2:] == ["sleepy.on_stop_sync", "sleepy.on_stop"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SVC_HUNG_START_TIMEOUT", "0s"), ("SVC_START_TIMEOUT", "-1s"), ("SVC_START_TIMEOUT", "2d")],
)
async def test_budgets_are_range_checked(
    make_service: ServiceFactory, variable: str, value: str
) -> None:
    events: list[str] = []
    app = chain(make_service, events, {variable: value})
    with pytest.raises(ConfigError) as caught:
        await app.start()
    assert [issue.variable for issue in caught.value.issues] == [variable]
    assert events == []


def test_every_named_plugin_instance_lists_its_budget_in_help(make_service: ServiceFactory) -> None:
    app = chain(make_service, [], {})
    app.runtime.argv = ["help", "--all"]
    text = render_help(app.runtime)
    for name in ("SVC_START_TIMEOUT", "SVC_FIRST_START_TIMEOUT", "SVC_HUNG_START_TIMEOUT"):
        assert name in text
    names = [variable.name for variable in app.runtime.config.variables()]
    assert names.count("SVC_SECOND_START_TIMEOUT") == 1
