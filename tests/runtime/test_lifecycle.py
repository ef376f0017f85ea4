"""Start and stop order, rollback, state errors and the shutdown timeout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

import lbtoolkit
from lbtoolkit.runtime import State
from tests.runtime.support import Recorder, ServiceFactory, add_plugin


def build(
    make_service: ServiceFactory, events: list[str], fail: dict[str, set[str]] | None = None
) -> lbtoolkit.Service:
    """Two plugins, one package and user hooks, all recording into ``events``."""
    failing = fail or {}
    app = make_service()
    for name in ("pgsql", "redis"):
        add_plugin(app, Recorder(name, events, failing.get(name, ())))

    class Package(Recorder):
        def __init__(self) -> None:
            super().__init__("pkg", events, failing.get("pkg", ()))

    app.register_package(Package)

    def user_start_sync() -> None:
        events.append("user.on_start_sync")
        if "on_start_sync" in failing.get("user", ()):
            raise RuntimeError("user hook exploded")

    async def user_stop() -> None:
        events.append("user.on_stop")

    app.register_on_start_sync_hook(user_start_sync)
    app.register_on_stop_hook(user_stop)
    return app


def state_of(app: lbtoolkit.Service) -> State:
    return app.runtime.lifecycle.state


START = [
    "pgsql.pre_start",
    "redis.pre_start",
    "pkg.pre_start",
    "pgsql.on_start_sync",
    "redis.on_start_sync",
    "pgsql.on_start",
    "redis.on_start",
    "pkg.on_start_sync",
    "pkg.on_start",
    "user.on_start_sync",
]
STOP = [
    "user.on_stop",
    "pkg.on_stop_sync",
    "pkg.on_stop",
    "redis.on_stop_sync",
    "pgsql.on_stop_sync",
    "redis.on_stop",
    "pgsql.on_stop",
]


async def test_start_then_stop_runs_hooks_in_documented_order(make_service: ServiceFactory) -> None:
    events: list[str] = []
    app = build(make_service, events)
    await app.start()
    assert events == START
    assert app.runtime.lifecycle.state is State.STARTED
    assert app.runtime.tools.probes.started
    events.clear()
    await app.stop()
    assert events == STOP
    assert state_of(app) is State.STOPPED
    assert not app.runtime.tools.probes.started


# Each failure point, and what must have been stopped (latest first) afterwards.
ROLLBACK_CASES = [
    # Independent plugins share a wave: redis's pre_start ran alongside and finished,
    # so it counts as started and is stopped again.
    (
        "pgsql",
        "pre_start",
        ["redis.pre_start", "redis.on_stop_sync", "redis.on_stop"],
        "plugins pre_start",
        'plugin "pgsql" pre_start',
    ),
    (
        "redis",
        "pre_start",
        ["pgsql.on_stop_sync", "pgsql.on_stop"],
        "plugins pre_start",
        'plugin "redis" pre_start',
    ),
    (
        "pkg",
        "pre_start",
        ["redis.on_stop_sync", "pgsql.on_stop_sync", "redis.on_stop", "pgsql.on_stop"],
        "packages pre_start",
        "package",
    ),
    (
        "redis",
        "on_start_sync",
        [
            "pkg.on_stop_sync",
            "pkg.on_stop",
            "redis.on_stop_sync",
            "pgsql.on_stop_sync",
            "redis.on_stop",
            "pgsql.on_stop",
        ],
        "plugins on_start",
        'plugin "redis" on_start_sync',
    ),
    # on_start hooks run concurrently: redis's still runs when pgsql's fails.
    (
        "pgsql",
        "on_start",
        ["redis.on_start", *STOP[1:]],
        "plugins on_start",
        'plugin "pgsql" on_start',
    ),
    ("pkg", "on_start", STOP[1:], "packages on_start", "package"),
    ("user", "on_start_sync", STOP, "user start hooks", "user hook"),
]


@pytest.mark.parametrize(("who", "hook", "stopped", "step", "culprit"), ROLLBACK_CASES)
async def test_err_halts_chain_and_rolls_back(
    make_service: ServiceFactory,
    who: str,
    hook: str,
    stopped: list[str],
    step: str,
    culprit: str,
) -> None:
    events: list[str] = []
    app = build(make_service, events, fail={who: {hook}})
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    failed_at = START.index(f"{who}.{hook}")
    assert events[: failed_at + 1] == START[: failed_at + 1]
    assert events[failed_at + 1 :] == stopped
    message = str(caught.value)
    assert message.startswith(f"start failed at {step}: {culprit}")
    assert "exploded" in message
    assert caught.value.step == step
    assert app.runtime.lifecycle.state is State.FAILED


async def test_start_error_names_step_owner_and_hook(make_service: ServiceFactory) -> None:
    events: list[str] = []
    app = build(make_service, events, fail={"redis": {"pre_start"}})
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert str(caught.value) == (
        'start failed at plugins pre_start: plugin "redis" pre_start: '
        "RuntimeError: redis pre_start exploded"
    )
    assert caught.value.owner == 'plugin "redis"'
    assert caught.value.hook == "pre_start"


async def test_hooks_of_independent_plugins_overlap(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    inside: list[int] = []
    peak = {"sync": 0, "async": 0}
    both_in = asyncio.Event()

    class Probe:
        def __init__(self, name: str) -> None:
            self.name = name

        async def _enter(self, kind: str) -> None:
            inside.append(1)
            peak[kind] = max(peak[kind], len(inside))
            if kind == "async" and len(inside) == 2:
                both_in.set()
            if kind == "async":
                # Waits for the other plugin's hook: only possible if they run concurrently.
                await asyncio.wait_for(both_in.wait(), 2)
            await asyncio.sleep(0)
            inside.pop()

        async def on_start_sync(self) -> None:
            await self._enter("sync")

        async def pre_start(self) -> None:
            await self._enter("sync")

        async def on_start(self) -> None:
            await self._enter("async")

    for name in ("a", "b"):
        key = type(f"{name}Plugin", (Probe,), {})
        app.runtime.plugin.provide(_constant(Probe(name)), provides=key, name=name)
    await app.start()
    await app.stop()
    # Independent plugins share a wave: every start hook of theirs overlaps
    # (tests/runtime/test_waves.py shows dependent ones taking turns).
    assert peak == {"sync": 2, "async": 2}


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


async def test_start_while_started_errors(make_service: ServiceFactory) -> None:
    app = make_service()
    await app.start()
    with pytest.raises(lbtoolkit.LifecycleStateError, match="cannot start: the service is started"):
        await app.start()
    await app.stop()


async def test_stop_before_start_errors(make_service: ServiceFactory) -> None:
    app = make_service()
    with pytest.raises(
        lbtoolkit.LifecycleStateError, match="cannot stop: the service is not started"
    ):
        await app.stop()


async def test_stop_awaited_inside_start_errors_instead_of_waiting_for_itself(
    make_service: ServiceFactory,
) -> None:
    app = make_service()

    class StopsTheService:
        async def pre_start(self) -> None:
            await app.stop()

    app.runtime.plugin.provide_value(StopsTheService(), provides=StopsTheService, name="early")
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert str(caught.value.cause) == (
        "cannot stop: the service is starting. Hint: stop() awaited from inside start would "
        "wait for itself; raise an exception to fail the start, or call stop() from another task"
    )


async def test_stop_gathers_all_errors(make_service: ServiceFactory) -> None:
    events: list[str] = []
    app = make_service()
    add_plugin(app, Recorder("a", events, {"on_stop"}))
    add_plugin(app, Recorder("b", events, {"on_stop_sync"}))
    await app.start()
    with pytest.raises(lbtoolkit.StopError) as caught:
        await app.stop()
    assert [who for who, _ in caught.value.errors] == [
        'plugin "b" on_stop_sync',
        'plugin "a" on_stop',
    ]
    # A failing hook does not keep the others from running.
    assert events[-4:] == ["b.on_stop_sync", "a.on_stop_sync", "b.on_stop", "a.on_stop"]


async def test_concurrent_stop_calls_share_one_stop(make_service: ServiceFactory) -> None:
    events: list[str] = []
    app = make_service()
    add_plugin(app, Recorder("a", events))
    await app.start()
    await asyncio.gather(app.stop(), app.stop())
    assert events.count("a.on_stop") == 1


async def test_shutdown_timeout_abandons_remaining_hooks_and_names_them(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_service(environ={"SVC_SHUTDOWN_TIMEOUT": "100ms"})
    events: list[str] = []

    class Stuck:
        async def on_stop_sync(self) -> None:
            await asyncio.sleep(30)

    add_plugin(app, Recorder("late", events))
    app.runtime.plugin.provide(Stuck, provides=Stuck, name="stuck")
    await app.start()
    with caplog.at_level(logging.ERROR), pytest.raises(lbtoolkit.StopError) as raised:
        await app.stop()
    expected = (
        # "late" shares the wave of "stuck": its on_stop_sync ran alongside and finished.
        "the stop did not finish within SVC_SHUTDOWN_TIMEOUT=100ms; abandoned: "
        'plugin "stuck" on_stop_sync, plugin "late" on_stop, clients close, '
        "dependency container close. Hint: raise SVC_SHUTDOWN_TIMEOUT"
    )
    line = next(r.getMessage() for r in caplog.records if "did not finish" in r.getMessage())
    assert line == expected
    [(who, error)] = raised.value.errors
    assert who == "shutdown"
    assert isinstance(error, lbtoolkit.ShutdownTimeoutError)
    assert str(error) == expected
    assert "late.on_stop" not in events


async def test_a_drain_delay_longer_than_the_shutdown_budget_is_named(
    make_service: ServiceFactory,
) -> None:
    app = make_service(environ={"SVC_SHUTDOWN_TIMEOUT": "100ms", "SVC_DRAIN_DELAY": "10s"})
    await app.start()
    with pytest.raises(lbtoolkit.StopError) as raised:
        await app.stop()
    [(_, error)] = raised.value.errors
    assert isinstance(error, lbtoolkit.ShutdownTimeoutError)
    assert str(error).endswith(
        "Hint: raise SVC_SHUTDOWN_TIMEOUT, or shorten SVC_DRAIN_DELAY, "
        "which the stop waits out first"
    )


async def test_user_async_start_hook_runs_in_background_and_its_error_is_logged(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_service()
    ran = asyncio.Event()

    async def background() -> None:
        ran.set()
        raise RuntimeError("background failure")

    app.register_on_start_hook(background)
    with caplog.at_level(logging.ERROR):
        await app.start()
        await asyncio.wait_for(ran.wait(), 2)
        await asyncio.sleep(0)
    assert app.runtime.lifecycle.state is State.STARTED
    assert any("background failure" in (r.exc_text or str(r.exc_info)) for r in caplog.records)
    await app.stop()


async def test_stop_with_error_is_kept_for_the_exit_code(make_service: ServiceFactory) -> None:
    app = make_service()
    await app.start()
    failure = RuntimeError("lost the database")
    await app.stop(failure)
    assert app.error is failure


async def test_invoke_runs_after_packages_pre_start_with_dependencies(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    add_plugin(app, Recorder("db", events), provides=Recorder)

    async def setup(plugin: Recorder, service: lbtoolkit.Service) -> None:
        assert service is app
        events.append(f"invoke({plugin.name})")

    app.invoke(setup)
    await app.start()
    await app.stop()
    assert events.index("invoke(db)") == events.index("db.pre_start") + 1
    assert events.index("invoke(db)") < events.index("db.on_start_sync")


async def test_every_constructor_runs_before_the_first_pre_start(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()

    def build_plugin() -> Recorder:
        events.append("plugin constructed")
        return Recorder("db", events)

    class Package(Recorder):
        def __init__(self) -> None:
            events.append("package constructed")
            super().__init__("pkg", events)

    app.runtime.plugin.provide(build_plugin, name="db")
    app.register_package(Package)
    await app.start()
    await app.stop()
    assert events[:4] == [
        "plugin constructed",
        "package constructed",
        "db.pre_start",
        "pkg.pre_start",
    ]
