"""``new_..._service``: plugins configured under their prefixes, injected by type."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pytest

from lbtoolkit.client import ChannelPool, GrpcChannel
from lbtoolkit.spec import PathTemplate, ServerKind
from lbtoolkit.testing import new_test_runtime, open_service
from tests.codegen.support import annotate, typed_module

if TYPE_CHECKING:
    from pathlib import Path

# The guide's "Multi-Instance Plugin Pattern" environment.
GUIDE_ENVIRONMENT = {
    "MYSERVICE_PRIMARY_DB_HOST": "primary.db.com",
    "MYSERVICE_PRIMARY_DB_DATABASE": "app_db",
    "MYSERVICE_ANALYTICS_DB_HOST": "analytics.db.com",
    "MYSERVICE_ANALYTICS_DB_DATABASE": "analytics_db",
    "MYSERVICE_SESSION_CACHE_HOST": "session.redis.com",
    "MYSERVICE_SESSION_CACHE_DATABASE": "0",
    "MYSERVICE_DATA_CACHE_HOST": "data.redis.com",
    "MYSERVICE_DATA_CACHE_DATABASE": "1",
}

# The service reads these instead of the process's environment and arguments.
ISOLATED: dict[str, Any] = {"environ": GUIDE_ENVIRONMENT, "argv": []}


def test_config_table_lists_every_plugin_instance(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    app = toolkit.new_my_service_service("myservice", env_prefix="MYSERVICE", **ISOLATED)
    table = app.config.print_table(all=True)
    for variable in [
        "MYSERVICE_PRIMARY_DB_HOST",
        "MYSERVICE_PRIMARY_DB_DATABASE",
        "MYSERVICE_ANALYTICS_DB_HOST",
        "MYSERVICE_ANALYTICS_DB_DATABASE",
        "MYSERVICE_SESSION_CACHE_HOST",
        "MYSERVICE_SESSION_CACHE_DATABASE",
        "MYSERVICE_DATA_CACHE_HOST",
        "MYSERVICE_DATA_CACHE_DATABASE",
        "MYSERVICE_MYPLUGIN_HOST",
        "MYSERVICE_MYPLUGIN_PORT",
        "MYSERVICE_PGSQL_HOST",  # service-level instances
        "MYSERVICE_REDIS_DATABASE",
    ]:
        assert variable in table


def test_service_level_plugins_belong_to_their_service(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    table = toolkit.new_reports_service(
        "reports", env_prefix="MYSERVICE", **ISOLATED
    ).config.print_table(all=True)
    assert "MYSERVICE_PRIMARY_DB_HOST" in table
    assert "MYSERVICE_PGSQL_HOST" not in table


async def test_each_typed_parameter_gets_its_instance(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    app = toolkit.new_worker_service("myservice", env_prefix="MYSERVICE", **ISOLATED)
    seen: dict[str, Any] = {}

    def check(primary: Any, analytics: Any, session: Any, data: Any, custom: Any) -> None:
        seen.update(primary=primary, analytics=analytics, session=session, data=data)
        seen["custom"] = custom

    app.invoke(
        annotate(
            check,
            primary=toolkit.PrimaryDbPlugin,
            analytics=toolkit.AnalyticsDbPlugin,
            session=toolkit.SessionCachePlugin,
            data=toolkit.DataCachePlugin,
            custom=toolkit.MypluginPlugin,
        )
    )
    async with open_service(app):
        assert seen["primary"].dsn() == "postgresql://primary.db.com/app_db"
        assert seen["analytics"].dsn() == "postgresql://analytics.db.com/analytics_db"
        assert seen["session"].database() == 0
        assert seen["data"].database() == 1
        assert await seen["data"].get("k") == "data_cache:k"
        seen["custom"].do_something()
        names = {key: plugin.instance_name for key, plugin in seen.items()}
    assert names == {
        "primary": "primary_db",
        "analytics": "analytics_db",
        "session": "session_cache",
        "data": "data_cache",
        "custom": "myplugin",
    }


def test_as_plugin_names_the_object_itself(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    fakesql = importlib.import_module("fakesql")
    plugin = fakesql.new_plugin(new_test_runtime(environ={}), fakesql.Options(name="sql"))
    assert toolkit.as_primary_db_plugin(plugin) is plugin
    assert plugin.instance_name == "primary_db"
    assert toolkit.as_primary_db_plugin(plugin) is plugin  # naming it again changes nothing


def test_an_instance_cannot_become_another(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    fakesql = importlib.import_module("fakesql")
    plugin = fakesql.new_plugin(new_test_runtime(environ={}), fakesql.Options(name="sql"))
    toolkit.as_primary_db_plugin(plugin)
    with pytest.raises(ValueError, match="is already the instance") as error:
        toolkit.as_analytics_db_plugin(plugin)
    assert str(error.value) == (
        'plugin "analytics_db": this _Plugin is already the instance "primary_db"; '
        "build one plugin object per instance"
    )
    assert plugin.instance_name == "primary_db"


def test_a_plugin_that_cannot_take_its_name_is_named_in_the_error(on_path: Path) -> None:
    toolkit = typed_module(on_path)

    class SlottedSql:
        __slots__ = ()

        def dsn(self) -> str:
            return "postgresql://"

    with pytest.raises(TypeError) as error:
        toolkit.as_primary_db_plugin(SlottedSql())
    refused = error.value.__cause__  # Python's own words, which vary between versions
    assert isinstance(refused, AttributeError)
    assert str(error.value) == (
        'plugin "primary_db": cannot set instance_name on a '
        "test_a_plugin_that_cannot_take_its_name_is_named_in_the_error.<locals>.SlottedSql "
        f"({refused}); let the class take the attribute"
    )


async def test_services_accessor_is_injected(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    environ = {**GUIDE_ENVIRONMENT, "MYSERVICE_CLIENT_REPORTS_TARGET": "reports.internal:9000"}
    app = toolkit.new_worker_service("myservice", env_prefix="MYSERVICE", environ=environ, argv=[])
    seen: list[Any] = []

    def keep(services: Any) -> None:
        seen.append(services)

    app.invoke(annotate(keep, services=toolkit.WorkerServices))
    async with open_service(app):
        (services,) = seen
        assert isinstance(services, toolkit.WorkerServices)
        assert isinstance(services.reports, toolkit.ReportsClient)
        channel = services.reports._channel
        assert isinstance(channel, GrpcChannel)
        assert channel.target == "reports.internal:9000"


def test_constructor_declares_the_spec(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    app = toolkit.new_my_service_service("myservice", **ISOLATED)
    (spec,) = app.server.declared
    assert spec is toolkit.MY_SERVICE_SPEC
    assert spec.servers == (ServerKind.GRPC, ServerKind.HTTP)
    assert spec.rpc_server is toolkit.MyServiceRpcServer
    assert [m.handler for m in spec.methods] == ["get_user", "list_users", "upload", "chat"]
    streaming = [(m.client_streaming, m.server_streaming) for m in spec.methods]
    assert streaming == [(False, False), (False, True), (True, False), (True, True)]
    (route,) = spec.http_routes
    assert route[1].path == "/v1/users/{user_id}"
    assert route[1].template == PathTemplate.parse("/v1/users/{user_id}")


def test_register_provides_the_implementation(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    app = toolkit.new_my_service_service("myservice", **ISOLATED)
    provided: list[tuple[object, object]] = []
    app.provide = lambda constructor, *, provides=None: provided.append((constructor, provides))

    class Users:
        pass

    toolkit.register_my_service_rpc_server(app, Users)
    assert provided == [(Users, toolkit.MyServiceRpcServer)]


def test_channel_pool_is_shared_by_the_clients(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    pool = ChannelPool(env_prefix="MYSERVICE", environ={})
    services = toolkit.WorkerServices(pool)
    assert services.reports._channel is pool.channel("reports")


async def test_guide_multi_instance_example_on_the_real_plugins(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(generated))
    toolkit = importlib.import_module("gen_guide_multi_instance.multi_instance_toolkit")
    app = toolkit.new_my_service_service("myservice", env_prefix="MYSERVICE", **ISOLATED)
    table = app.config.print_table(all=True)
    for variable in [
        "MYSERVICE_PRIMARY_DB_HOST",
        "MYSERVICE_PRIMARY_DB_DATABASE",
        "MYSERVICE_ANALYTICS_DB_HOST",
        "MYSERVICE_ANALYTICS_DB_DATABASE",
        "MYSERVICE_SESSION_CACHE_ADDR",  # the guide's redis plugin calls its address ADDR
        "MYSERVICE_SESSION_CACHE_DATABASE",
        "MYSERVICE_DATA_CACHE_ADDR",
        "MYSERVICE_DATA_CACHE_DATABASE",
    ]:
        assert variable in table
    # Build the graph and the plugins without starting them: nothing connects.
    app.runtime.injector.build()
    await app.runtime.plugin.build()
    by_owner = {c.owner: c.instance for c in app.runtime.plugin.components}
    for prefix, protocol in [
        ("primary_db", toolkit.PrimaryDbPlugin),
        ("analytics_db", toolkit.AnalyticsDbPlugin),
        ("session_cache", toolkit.SessionCachePlugin),
        ("data_cache", toolkit.DataCachePlugin),
    ]:
        plugin = by_owner[f'plugin "{prefix}"']
        assert await app.runtime.injector.get(protocol) is plugin
        assert plugin.instance_name == prefix
    assert len(by_owner) == 4
