"""The start-up timeline: records, the table, spans and the start-duration metric."""

from __future__ import annotations

import logging
from typing import ClassVar

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import lbtoolkit
from lbtoolkit.runtime import HookOutcome, HookRecord, render_timeline
from tests.runtime.support import Recorder, ServiceFactory


class Alpha(Recorder):
    def __init__(self, events: list[str]) -> None:
        super().__init__("alpha", events)


class Beta(Recorder):
    depends_on: ClassVar[tuple[type, ...]] = (Alpha,)

    def __init__(self, events: list[str]) -> None:
        super().__init__("beta", events)


def three_plugins(make_service: ServiceFactory, fail: set[str] | None = None) -> lbtoolkit.Service:
    events: list[str] = []
    app = make_service()
    for plugin in (Alpha(events), Beta(events), Recorder("gamma", events, fail or ())):
        app.runtime.plugin.provide_value(plugin, provides=type(plugin), name=plugin.name)
    return app


PLUGIN_HOOKS = [
    ('plugin "alpha"', "pre_start", 1),
    ('plugin "gamma"', "pre_start", 1),
    ('plugin "beta"', "pre_start", 2),
    ('plugin "alpha"', "on_start_sync", 1),
    ('plugin "gamma"', "on_start_sync", 1),
    ('plugin "beta"', "on_start_sync", 2),
    ('plugin "alpha"', "on_start", 1),
    ('plugin "gamma"', "on_start", 1),
    ('plugin "beta"', "on_start", 2),
]


async def test_every_start_hook_is_recorded_with_its_step_wave_and_outcome(
    make_service: ServiceFactory,
) -> None:
    app = three_plugins(make_service)
    await app.start()
    await app.stop()
    records = app.runtime.timeline.records
    plugin_records = [r for r in records if r.owner.startswith("plugin")]
    assert sorted((r.owner, r.hook, r.wave) for r in plugin_records) == sorted(PLUGIN_HOOKS)
    assert {r.outcome for r in records} == {HookOutcome.OK}
    steps = {(r.owner, r.hook): r.step for r in plugin_records}
    assert steps['plugin "beta"', "pre_start"] == "plugins pre_start"
    assert steps['plugin "beta"', "on_start"] == "plugins on_start"
    assert all(0 <= r.start <= r.end for r in records)
    # Stop hooks of a normal stop are no part of the start-up timeline.
    assert not any(r.hook.startswith("on_stop") for r in records)
    finished = app.runtime.timeline.finished
    assert finished is not None
    assert all(r.end <= finished for r in records)


async def test_a_failed_start_records_the_failure_and_the_rollback(
    make_service: ServiceFactory,
) -> None:
    app = three_plugins(make_service, fail={"on_start_sync"})
    with pytest.raises(lbtoolkit.StartError):
        await app.start()
    by_hook = {(r.owner, r.hook): r for r in app.runtime.timeline.records}
    assert by_hook['plugin "gamma"', "on_start_sync"].outcome is HookOutcome.FAILED
    assert ('plugin "beta"', "on_start_sync") not in by_hook  # wave 2 never began
    rollback = by_hook['plugin "alpha"', "on_stop"]
    assert (rollback.step, rollback.outcome) == ("rollback", HookOutcome.OK)


def test_the_table_has_one_row_per_hook_in_start_order_with_a_bar() -> None:
    records = [
        HookRecord('plugin "b"', "pre_start", "plugins pre_start", 2, 0.1, 0.2, HookOutcome.OK),
        HookRecord('plugin "a"', "pre_start", "plugins pre_start", 1, 0.0, 0.1, HookOutcome.OK),
        HookRecord(
            'plugin "c"', "pre_start", "plugins pre_start", 1, 0.0, 0.2, HookOutcome.TIMED_OUT
        ),
        HookRecord("server grpc", "start", "servers", None, 0.2, 0.4, HookOutcome.FAILED),
    ]
    rows = [
        '     0.0   100.0    100.0  ok            1  plugins pre_start  plugin "a" pre_start',
        '     0.0   200.0    200.0  timed out     1  plugins pre_start  plugin "c" pre_start',
        '   100.0   200.0    100.0  ok            2  plugins pre_start  plugin "b" pre_start',
        "   200.0   400.0    200.0  failed           servers            server grpc start   ",
    ]
    bars = [
        "|######                  |",
        "|############            |",
        "|      ######            |",
        "|            ############|",
    ]
    assert render_timeline(records).splitlines() == [
        "start ms  end ms  took ms  outcome    wave  step               hook",
        *(f"{row}  {bar}" for row, bar in zip(rows, bars, strict=True)),
    ]
    assert render_timeline([]) == "no hook ran"


async def test_the_table_is_logged_at_debug_after_start(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = three_plugins(make_service)
    with caplog.at_level(logging.DEBUG, logger="lbtoolkit.lifecycle"):
        await app.start()
    await app.stop()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("start-up")]
    assert logged == ["start-up timeline:\n" + render_timeline(app.runtime.timeline.records)]
    assert 'plugin "beta" on_start_sync' in logged[0]


async def test_the_table_is_not_rendered_above_debug(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = three_plugins(make_service)
    with caplog.at_level(logging.INFO, logger="lbtoolkit.lifecycle"):
        await app.start()
    await app.stop()
    assert not any("start-up timeline" in r.getMessage() for r in caplog.records)


async def test_the_start_is_exported_as_one_parent_span_with_a_child_per_hook(
    make_service: ServiceFactory,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = three_plugins(make_service, fail={"on_start"})
    app.tools.traces.use_provider(provider)
    with pytest.raises(lbtoolkit.StartError):
        await app.start()
    spans = exporter.get_finished_spans()
    parents = [s for s in spans if s.name == "service.start"]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.parent is None
    assert parent.status.status_code is StatusCode.ERROR
    children = [s for s in spans if s is not parent]
    assert len(children) == len(app.runtime.timeline.records)
    assert all(
        s.parent is not None and s.parent.span_id == parent.context.span_id for s in children
    )
    assert all(s.context.trace_id == parent.context.trace_id for s in children)
    by_name = {s.name: s for s in children}
    beta = by_name['plugin "beta" pre_start']
    assert dict(beta.attributes or {}) == {
        "lbtoolkit.owner": 'plugin "beta"',
        "lbtoolkit.hook": "pre_start",
        "lbtoolkit.step": "plugins pre_start",
        "lbtoolkit.outcome": "ok",
        "lbtoolkit.wave": 2,
    }
    alpha, gamma = by_name['plugin "alpha" pre_start'], by_name['plugin "gamma" pre_start']
    assert alpha.end_time is not None
    assert beta.start_time is not None
    assert alpha.end_time <= beta.start_time  # beta waited for alpha
    assert gamma.status.status_code is StatusCode.UNSET
    failed = by_name['plugin "gamma" on_start']
    assert failed.status.status_code is StatusCode.ERROR
    assert parent.start_time is not None
    assert parent.end_time is not None
    assert all(
        parent.start_time <= (s.start_time or 0) <= (s.end_time or 0) <= parent.end_time
        for s in children
    )


async def test_no_span_without_tracing(make_service: ServiceFactory) -> None:
    app = three_plugins(make_service)
    app.tools.traces.use_provider(None)
    await app.start()  # nothing to export to: no error, no span
    await app.stop()
    assert app.runtime.timeline.records


async def test_the_start_duration_is_a_lifecycle_metric(make_service: ServiceFactory) -> None:
    app = three_plugins(make_service)
    registry = app.tools.metrics.registry
    assert registry.get_sample_value("lbtoolkit_lifecycle_start_duration_seconds") is None
    await app.start()
    await app.stop()
    seconds = registry.get_sample_value("lbtoolkit_lifecycle_start_duration_seconds")
    assert seconds == app.runtime.timeline.finished
    beta = registry.get_sample_value(
        "lbtoolkit_lifecycle_hook_duration_seconds",
        {"owner": 'plugin "beta"', "hook": "pre_start"},
    )
    assert beta is not None
