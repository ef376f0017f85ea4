"""Dependency injection: typed wiring, multi-instance plugins, scopes, missing types."""

from __future__ import annotations

import re
from typing import Protocol

import pytest
from pydantic import BaseModel

import lbtoolkit
from lbtoolkit.config import env
from tests.runtime.support import Recorder, ServiceFactory


class Database(Protocol):
    @property
    def dsn(self) -> str: ...


class PrimaryDbPlugin(Database, Protocol):
    """Two Protocols of one plugin type, as generated for two prefixes."""


class AnalyticsDbPlugin(Database, Protocol):
    pass


class FakeDb:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn


class Reports:
    def __init__(self, primary: PrimaryDbPlugin, analytics: AnalyticsDbPlugin) -> None:
        self.primary = primary
        self.analytics = analytics


async def test_multi_instance_plugins_are_injected_under_distinct_types(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    primary, analytics = FakeDb("primary"), FakeDb("analytics")
    app.runtime.plugin.provide_value(primary, provides=PrimaryDbPlugin, name="primary_db")
    app.runtime.plugin.provide_value(analytics, provides=AnalyticsDbPlugin, name="analytics_db")
    app.provide(Reports)
    await app.start()
    reports = await app.runtime.injector.get(Reports)
    assert reports.primary is primary
    assert reports.analytics is analytics
    await app.stop()


async def test_a_provided_value_is_injected_by_its_class_and_its_hooks_run(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    events: list[str] = []
    plugin = Recorder("cache", events)
    app.runtime.plugin.provide_value(plugin, name="cache")
    await app.start()
    assert await app.runtime.injector.get(Recorder) is plugin
    assert [c.owner for c in app.runtime.plugin.components] == ['plugin "cache"']
    assert app.runtime.plugin.constructors()[0]() is plugin
    await app.stop()
    hooks = ["pre_start", "on_start_sync", "on_start", "on_stop_sync", "on_stop"]
    assert events == [f"cache.{hook}" for hook in hooks]


async def test_missing_dependency_names_type_and_constructor_before_any_hook(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    called: list[str] = []

    class Plugin:
        async def pre_start(self) -> None:
            called.append("pre_start")

    app.runtime.plugin.provide(Plugin, name="early")
    app.provide(Reports)
    with pytest.raises(lbtoolkit.DependencyError) as caught:
        await app.start()
    error = caught.value
    assert error.missing == f"{__name__}.PrimaryDbPlugin"
    assert error.needed_by == f"{__name__}.Reports"
    assert str(error).startswith(
        f"no provider for {__name__}.PrimaryDbPlugin, needed by {__name__}.Reports. Hint:"
    )
    assert called == []


async def test_invoke_with_missing_dependency_fails_the_graph_check(
    make_service: ServiceFactory,
) -> None:
    app = make_service()

    def setup(reports: Reports) -> None:
        raise AssertionError("must not be called")

    app.invoke(setup)
    with pytest.raises(
        lbtoolkit.DependencyError,
        match=rf"no provider for {re.escape(__name__)}\.Reports, needed by .*\.setup\.",
    ):
        await app.start()


async def test_request_scope_gives_a_fresh_object_per_request(make_service: ServiceFactory) -> None:
    class Session:
        pass

    app = make_service()
    app.provide(Session, scope=lbtoolkit.Scope.REQUEST)
    await app.start()
    injector = app.runtime.injector
    async with injector.request_scope() as first:
        a1, a2 = await first.get(Session), await first.get(Session)
    async with injector.request_scope() as second:
        b = await second.get(Session)
    assert a1 is a2
    assert a1 is not b
    await app.stop()


class Settings(BaseModel):
    greeting: str = env("GREETING", default="hello", comment="What to say")


async def test_registered_config_is_parsed_under_the_service_prefix_and_injectable(
    make_service: ServiceFactory,
) -> None:
    app = make_service(environ={"SVC_GREETING": "hi"})
    app.register_config(Settings)
    await app.start()
    settings = await app.runtime.injector.get(Settings)
    assert settings.greeting == "hi"
    await app.stop()


async def test_defaults_are_injectable(make_service: ServiceFactory) -> None:
    app = make_service()
    await app.start()
    injector = app.runtime.injector
    assert await injector.get(lbtoolkit.Service) is app
    assert await injector.get(lbtoolkit.Runtime) is app.runtime
    await app.stop()


async def test_plugin_constructor_that_raises_is_reported_with_its_name(
    make_service: ServiceFactory,
) -> None:
    app = make_service()

    def broken() -> FakeDb:
        raise ConnectionError("bad options")

    app.runtime.plugin.provide(broken, name="pgsql")
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert str(caught.value) == (
        'start failed at plugin constructors: plugin "pgsql" constructor: '
        "ConnectionError: bad options"
    )


async def test_register_plugin_builds_the_plugin_with_its_dependencies(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    events: list[str] = []

    class Cache:
        def __init__(self, service: lbtoolkit.Service) -> None:
            self.service = service

        async def pre_start(self) -> None:
            events.append("cache.pre_start")

    app.register_plugin(Cache)
    await app.start()
    cache = await app.runtime.injector.get(Cache)
    assert cache.service is app
    assert events == ["cache.pre_start"]
    await app.stop()
