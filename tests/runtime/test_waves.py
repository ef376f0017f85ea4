"""Dependency waves: independent components start together, dependent ones in order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import ClassVar

import pytest

import lbtoolkit
from lbtoolkit.runtime import DependencyCycleError, HookOutcome, HookRecord
from tests.runtime.support import Recorder, ServiceFactory, add_plugin


def records_of(app: lbtoolkit.Service, hook: str) -> dict[str, HookRecord]:
    """The timeline's records of ``hook``, by owner."""
    return {r.owner: r for r in app.runtime.timeline.records if r.hook == hook}


def most_at_once(records: Sequence[HookRecord]) -> int:
    """How many of ``records`` ran at the same moment, at most (from their start and end)."""
    # An end sorts before a start at the same offset: touching intervals do not overlap.
    edges = sorted([(r.start, 1) for r in records] + [(r.end, -1) for r in records])
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def ran_one_after_another(records: Sequence[HookRecord]) -> bool:
    return all(before.end <= after.start for before, after in itertools.pairwise(records))


class Slow:
    """A plugin whose ``pre_start`` takes 100 ms."""

    async def pre_start(self) -> None:
        await asyncio.sleep(0.1)


async def test_sixteen_independent_plugins_start_concurrently(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    for number in range(16):
        app.runtime.plugin.provide_value(
            Slow(), provides=type(f"Slow{number}", (Slow,), {}), name=f"slow{number}"
        )
    await app.start()
    await app.stop()
    starts = list(records_of(app, "pre_start").values())
    assert len(starts) == 16
    assert {r.outcome for r in starts} == {HookOutcome.OK}
    assert {r.wave for r in starts} == {1}
    assert most_at_once(starts) >= 8


class ChainA(Recorder):
    def __init__(self, events: list[str]) -> None:
        super().__init__("a", events)


class ChainB(Recorder):
    depends_on: ClassVar[tuple[type, ...]] = (ChainA,)

    def __init__(self, events: list[str]) -> None:
        super().__init__("b", events)


class ChainC(Recorder):
    depends_on: ClassVar[tuple[type, ...]] = (ChainB,)

    def __init__(self, events: list[str]) -> None:
        super().__init__("c", events)


async def test_a_declared_chain_starts_in_order_and_stops_in_reverse(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    # Declared backwards: the dependencies, not the declaration order, decide.
    for plugin in (ChainC(events), ChainB(events), ChainA(events)):
        app.runtime.plugin.provide_value(plugin, name=plugin.name)
    await app.start()
    starts = records_of(app, "pre_start")
    chain = [starts['plugin "a"'], starts['plugin "b"'], starts['plugin "c"']]
    assert [r.wave for r in chain] == [1, 2, 3]
    assert ran_one_after_another(chain)
    syncs = records_of(app, "on_start_sync")
    assert ran_one_after_another([syncs['plugin "a"'], syncs['plugin "b"'], syncs['plugin "c"']])
    assert [w[0].owner for w in app.runtime.plugin.waves] == [
        'plugin "a"',
        'plugin "b"',
        'plugin "c"',
    ]
    events.clear()
    await app.stop()
    assert events == [
        "c.on_stop_sync",
        "b.on_stop_sync",
        "a.on_stop_sync",
        "c.on_stop",
        "b.on_stop",
        "a.on_stop",
    ]


class Source(Recorder):
    def __init__(self, events: list[str]) -> None:
        super().__init__("source", events)


class Pool:
    """Not a plugin: something built from one, which another plugin takes."""

    def __init__(self, source: Source) -> None:
        self.source = source


class Direct(Recorder):
    def __init__(self, source: Source, events: list[str]) -> None:
        super().__init__("direct", events)
        self.source = source


class Indirect(Recorder):
    def __init__(self, pool: Pool, events: list[str]) -> None:
        super().__init__("indirect", events)
        self.pool = pool


async def test_constructor_parameters_order_the_start_directly_and_through_providers(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    app.provide(lambda: events, provides=list[str])
    app.provide(Pool)
    # Declared before the plugin they need.
    app.runtime.plugin.provide(Indirect, name="indirect")
    app.runtime.plugin.provide(Direct, name="direct")
    app.runtime.plugin.provide(Source, name="source")
    await app.start()
    await app.stop()
    starts = records_of(app, "pre_start")
    source = starts['plugin "source"']
    for user in ('plugin "direct"', 'plugin "indirect"'):
        assert source.end <= starts[user].start
        assert starts[user].wave == 2
    assert source.wave == 1
    # The two users are independent of each other: they share a wave.
    assert [c.owner for c in app.runtime.plugin.waves[1]] == [
        'plugin "indirect"',
        'plugin "direct"',
    ]


class Left(Recorder):
    depends_on: ClassVar[tuple[type, ...]] = ()

    def __init__(self, events: list[str]) -> None:
        super().__init__("left", events)


class Right(Recorder):
    depends_on: ClassVar[tuple[type, ...]] = (Left,)

    def __init__(self, events: list[str]) -> None:
        super().__init__("right", events)


async def test_a_cycle_is_refused_with_its_path_before_any_hook_runs(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    add_plugin(app, Recorder("free", events))
    app.runtime.plugin.provide_value(Right(events), name="right")
    # Left needs Right through its declaration, closing the circle.
    app.runtime.plugin.provide_value(Left(events), name="left", depends_on=[Right])
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    cycle = caught.value.cause
    assert isinstance(cycle, DependencyCycleError)
    assert cycle.path == ('plugin "right"', 'plugin "left"', 'plugin "right"')
    arrow = "\N{RIGHTWARDS ARROW}"
    assert str(cycle).splitlines() == [
        f'start order has a cycle: plugin "right" {arrow} plugin "left" {arrow} plugin "right"',
        '  plugin "right" needs plugin "left": depends_on Left',
        '  plugin "left" needs plugin "right": depends_on Right',
        (
            "Hint: nothing was started; drop one of these dependencies (a depends_on entry, "
            "or a constructor parameter)"
        ),
    ]
    assert caught.value.step == "start order"
    assert events == []
    # The rollback only closed the clients and the container: no plugin hook ran.
    assert {r.owner for r in app.runtime.timeline.records} == {"clients", "dependency container"}


class Peer(Recorder):
    pass


class NeedsPeer(Recorder):
    def __init__(self, peer: Peer, events: list[str]) -> None:
        super().__init__("needs_peer", events)
        self.peer = peer


async def test_a_cycle_through_a_constructor_parameter_names_the_parameter(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    app.provide(lambda: events, provides=list[str])
    app.runtime.plugin.provide(NeedsPeer, name="needs_peer")
    app.runtime.plugin.provide(
        lambda: Peer("peer", events), provides=Peer, name="peer", depends_on=[NeedsPeer]
    )
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    cycle = caught.value.cause
    assert isinstance(cycle, DependencyCycleError)
    assert cycle.path == ('plugin "needs_peer"', 'plugin "peer"', 'plugin "needs_peer"')
    assert cycle.reasons == ("constructor takes Peer", "depends_on NeedsPeer")
    assert events == []


async def test_a_plugin_cannot_depend_on_a_package(make_service: ServiceFactory) -> None:
    events: list[str] = []
    app = make_service()

    class Package(Recorder):
        def __init__(self) -> None:
            super().__init__("pkg", events)

    app.register_package(Package)
    app.runtime.plugin.provide_value(Recorder("early", events), name="early", depends_on=[Package])
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert isinstance(caught.value.cause, DependencyCycleError)
    assert caught.value.cause.reasons[1] == "packages start after every plugin"
    assert events == []


async def test_depends_on_naming_no_component_is_reported(make_service: ServiceFactory) -> None:
    app = make_service()
    app.runtime.plugin.provide_value(Recorder("lonely", []), name="lonely", depends_on=[Pool])
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    error = caught.value.cause
    assert isinstance(error, lbtoolkit.DependencyError)
    assert str(error) == (
        "dependency graph is invalid:\n"
        'plugin "lonely" depends_on tests.runtime.test_waves.Pool, which is no plugin or '
        "package of this service. Hint: register it as one, or drop it from depends_on"
    )


async def test_a_failure_in_a_wave_lets_the_others_finish_and_stops_them(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    base_type = type("Base", (Recorder,), {})
    app.runtime.plugin.provide_value(base_type("base", events), name="base")

    class Slower(Recorder):
        depends_on: ClassVar[tuple[type, ...]] = (base_type,)

        async def pre_start(self) -> None:
            events.append(f"{self.name}.pre_start")
            for _ in range(5):  # still running when "failing" fails
                await asyncio.sleep(0)
            events.append(f"{self.name}.pre_start done")

    quick = type("Quick", (Recorder,), {"depends_on": (base_type,)})("quick", events)
    failing = type("Failing", (Recorder,), {"depends_on": (base_type,)})(
        "failing", events, {"pre_start"}
    )
    app.runtime.plugin.provide_value(Slower("slower", events), name="slower")
    app.runtime.plugin.provide_value(quick, name="quick")
    app.runtime.plugin.provide_value(failing, name="failing")
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert caught.value.owner == 'plugin "failing"'
    assert "slower.pre_start done" in events
    stops = events[events.index("slower.pre_start done") + 1 :]
    # The failed wave's finished members stop first (latest declared first), then base.
    assert stops == [
        "quick.on_stop_sync",
        "slower.on_stop_sync",
        "base.on_stop_sync",
        "quick.on_stop",
        "slower.on_stop",
        "base.on_stop",
    ]
    outcomes = {r.owner: r.outcome for r in app.runtime.timeline.records if r.hook == "pre_start"}
    assert outcomes == {
        'plugin "base"': HookOutcome.OK,
        'plugin "slower"': HookOutcome.OK,
        'plugin "quick"': HookOutcome.OK,
        'plugin "failing"': HookOutcome.FAILED,
    }


async def test_the_first_failure_of_a_wave_is_reported_and_the_others_logged(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []
    app = make_service()

    class Late(Recorder):
        async def pre_start(self) -> None:
            await asyncio.sleep(0.01)
            raise RuntimeError("late exploded")

    app.runtime.plugin.provide_value(Late("late", events), name="late")
    add_plugin(app, Recorder("early", events, {"pre_start"}))
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert caught.value.owner == 'plugin "early"'
    assert any(
        r.getMessage().startswith('plugin "late" pre_start failed as well') for r in caplog.records
    )
