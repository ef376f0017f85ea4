"""postgres_pg (and postgres_pgx) against the real server."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import pytest

import lbtoolkit
from lbtoolkit.plugins import postgres_pg, postgres_pgx
from lbtoolkit.plugins._postgres import PostgresConnectError, PostgresStateError
from lbtoolkit.testing import new_test_runtime, open_plugin

pytestmark = pytest.mark.integration

# A password that must never show in an error (trust auth ignores it).
SECRET = f"pw-{uuid.uuid4().hex}"

# The fixtures' types (conftest.py cannot be imported: test folders are no packages).
Environ = Callable[..., dict[str, str]]
MakeDatabase = Callable[[], Awaitable[str]]
CountConnections = Callable[[str], Awaitable[int]]
WaitConnections = Callable[[str, int], Awaitable[int]]


class Relay(Protocol):
    port: int

    async def close(self) -> None: ...


def pool_of(plugin: postgres_pg.Plugin) -> Any:
    return plugin.db()


async def test_round_trip(make_database: MakeDatabase, app_name: str, environ_for: Environ) -> None:
    database = await make_database()
    env = environ_for("TEST", DATABASE=database, APPLICATION_NAME=app_name)
    async with open_plugin(postgres_pg.new_test_plugin(environ=env)) as plugin:
        pool = pool_of(plugin)
        await pool.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
        await pool.execute("INSERT INTO items (name) VALUES ($1), ($2)", "a", "b")
        rows = await pool.fetch("SELECT name FROM items ORDER BY id")
        assert [r["name"] for r in rows] == ["a", "b"]
        settings = await pool.fetchrow(
            "SELECT current_database() AS db, current_setting('TimeZone') AS tz, "
            "current_setting('application_name') AS app"
        )
        assert (settings["db"], settings["tz"], settings["app"]) == (database, "UTC", app_name)
        await plugin.health_check()


async def test_two_instances_use_their_own_database(
    make_database: MakeDatabase, environ_for: Environ
) -> None:
    users_db, orders_db = await make_database(), await make_database()
    runtime = new_test_runtime(
        env_prefix="SVC",
        environ={
            **environ_for("SVC_USERS_DB", DATABASE=users_db, MAX_IDLE_CONNECTIONS="1"),
            **environ_for("SVC_ORDERS_DB", DSN=f"postgres://postgres@127.0.0.1:5432/{orders_db}"),
        },
    )
    users = postgres_pg.new_plugin(runtime, postgres_pg.Options(name="users_db"))
    orders = postgres_pg.new_plugin(runtime, postgres_pg.Options(name="orders_db"))
    runtime.config.raise_for_issues()
    async with open_plugin(users), open_plugin(orders):
        assert await pool_of(users).fetchval("SELECT current_database()") == users_db
        assert await pool_of(orders).fetchval("SELECT current_database()") == orders_db
        report = await runtime.tools.probes.run("readiness")
        assert (report["users_db"], report["orders_db"]) == ("ok", "ok")


async def test_pre_start_fails_naming_prefix_host_port_and_cause(
    closed_port: int, environ_for: Environ
) -> None:
    env = environ_for("TEST", PORT=str(closed_port), PASSWORD=SECRET, CONN_ATTEMPTS="2")
    plugin = postgres_pg.new_test_plugin(environ=env)
    with pytest.raises(PostgresConnectError) as caught:
        await plugin.pre_start()
    text = str(caught.value)
    assert text.startswith(
        f'plugin "test" (postgres_pg): cannot connect to 127.0.0.1:{closed_port} after 2 attempts: '
        "ConnectionRefusedError: "
    )
    assert SECRET not in text
    assert caught.value.__cause__ is None  # nothing chained that could hold the password


async def test_readiness_fails_while_the_server_is_unreachable(
    closed_port: int, environ_for: Environ
) -> None:
    runtime = new_test_runtime(environ=environ_for("PGSQL", PORT=str(closed_port)))
    plugin = postgres_pg.new_plugin(runtime, postgres_pg.Options(name="pgsql"))
    with pytest.raises(PostgresConnectError):
        await plugin.pre_start()
    report = await runtime.tools.probes.run("readiness")
    assert report["pgsql"].startswith("PostgresStateError: ")
    assert "not started" in report["pgsql"]


async def test_readiness_follows_an_outage_after_start(relay: Relay, environ_for: Environ) -> None:
    runtime = new_test_runtime(
        environ=environ_for("PGSQL", PORT=str(relay.port), DATABASE="test", CONN_TIMEOUT="2s")
    )
    plugin = postgres_pg.new_plugin(runtime, postgres_pg.Options(name="pgsql"))
    async with open_plugin(plugin):
        assert (await runtime.tools.probes.run("readiness"))["pgsql"] == "ok"
        await relay.close()
        report = await runtime.tools.probes.run("readiness")
        assert report["pgsql"].startswith(
            f'PostgresConnectError: plugin "pgsql" (postgres_pg): cannot connect to '
            f"127.0.0.1:{relay.port}: "
        )


async def test_on_stop_releases_every_connection(
    app_name: str, environ_for: Environ, wait_connections: WaitConnections
) -> None:
    env = environ_for("TEST", DATABASE="test", APPLICATION_NAME=app_name, MAX_IDLE_CONNECTIONS="3")
    plugin = postgres_pg.new_test_plugin(environ=env)
    assert await wait_connections(app_name, 0) == 0
    async with open_plugin(plugin):
        # The idle floor is opened at start; a burst opens more, up to the limit.
        assert await wait_connections(app_name, 3) == 3
        pool = pool_of(plugin)
        await asyncio.gather(*(pool.execute("SELECT pg_sleep(0.1)") for _ in range(6)))
        assert await wait_connections(app_name, 6) == 6
    assert await wait_connections(app_name, 0) == 0
    with pytest.raises(PostgresStateError, match="while the plugin is stopped"):
        plugin.db()


async def test_pre_start_twice_keeps_the_pool_and_a_stopped_plugin_starts_again(
    app_name: str, environ_for: Environ
) -> None:
    env = environ_for("TEST", DATABASE="test", APPLICATION_NAME=app_name)
    plugin = postgres_pg.new_test_plugin(environ=env)
    async with open_plugin(plugin):
        pool = pool_of(plugin)
        await plugin.pre_start()
        assert pool_of(plugin) is pool
    async with open_plugin(plugin):
        assert pool_of(plugin) is not pool
        await plugin.health_check()


async def test_a_failed_start_leaves_no_connection(
    make_database: MakeDatabase,
    app_name: str,
    environ_for: Environ,
    count_connections: CountConnections,
) -> None:
    database = await make_database()
    env = environ_for(
        "TEST", DATABASE=database, APPLICATION_NAME=app_name, USERNAME="no_such_role_lbt"
    )
    plugin = postgres_pg.new_test_plugin(environ=env)
    with pytest.raises(PostgresConnectError) as caught:
        await plugin.pre_start()
    assert "InvalidAuthorizationSpecificationError" in str(caught.value)
    assert "after" not in str(caught.value).splitlines()[0]  # not retried: it cannot pass
    assert "check TEST_USERNAME, TEST_PASSWORD and TEST_DATABASE" in str(caught.value)
    assert await count_connections(app_name) == 0


async def test_connection_lifetime_replaces_old_connections(environ_for: Environ) -> None:
    env = environ_for(
        "TEST",
        DATABASE="test",
        MAX_CONNECTIONS="1",
        MAX_IDLE_CONNECTIONS="1",
        CONN_MAX_LIFETIME="200ms",
    )
    async with open_plugin(postgres_pg.new_test_plugin(environ=env)) as plugin:
        pool = pool_of(plugin)
        first = await pool.fetchval("SELECT pg_backend_pid()")
        assert await pool.fetchval("SELECT pg_backend_pid()") == first
        await asyncio.sleep(0.3)
        await pool.fetchval("SELECT 1")  # released past its lifetime: closed
        assert await pool.fetchval("SELECT pg_backend_pid()") != first


async def test_idle_connections_above_the_floor_are_closed(
    app_name: str, environ_for: Environ, wait_connections: WaitConnections
) -> None:
    env = environ_for(
        "TEST",
        DATABASE="test",
        APPLICATION_NAME=app_name,
        MAX_IDLE_CONNECTIONS="1",
        CONN_MAX_IDLE_TIME="200ms",
    )
    async with open_plugin(postgres_pg.new_test_plugin(environ=env)) as plugin:
        pool = pool_of(plugin)
        await asyncio.gather(*(pool.execute("SELECT pg_sleep(0.1)") for _ in range(4)))
        assert await wait_connections(app_name, 4) == 4
        await asyncio.sleep(0.3)
        assert await wait_connections(app_name, 1) == 1


async def test_debug_logs_statements_without_parameters(
    environ_for: Environ, caplog: pytest.LogCaptureFixture
) -> None:
    env = environ_for("TEST", DATABASE="test", DEBUG="true")
    caplog.set_level(logging.INFO)
    async with open_plugin(postgres_pg.new_test_plugin(environ=env)) as plugin:
        await pool_of(plugin).fetchval("SELECT $1::text", "param-secret")
    sql = [r.getMessage() for r in caplog.records if r.name == "test.test.sql"]
    assert any("SELECT $1::text" in line for line in sql)
    assert not any("param-secret" in line for line in sql)
    assert not any("RESET ALL" in line for line in sql)


async def test_service_start_fails_naming_the_plugin_and_rolls_back(
    closed_port: int, environ_for: Environ
) -> None:
    app = lbtoolkit.new_service(
        "svc",
        env_prefix="SVC",
        environ=environ_for("SVC_PGSQL", PORT=str(closed_port), PASSWORD=SECRET, CONN_ATTEMPTS="1"),
        argv=[],
    )
    plugin = postgres_pgx.new_plugin(app.runtime, postgres_pgx.Options(name="pgsql"))
    app.runtime.plugin.provide(lambda: plugin, provides=postgres_pgx.Plugin, name="pgsql")
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    text = str(caught.value)
    assert 'plugin "pgsql" pre_start' in text
    assert f"cannot connect to 127.0.0.1:{closed_port}" in text
    assert "ConnectionRefusedError" in text
    assert SECRET not in text


async def test_through_a_service(
    make_database: MakeDatabase,
    app_name: str,
    environ_for: Environ,
    wait_connections: WaitConnections,
) -> None:
    database = await make_database()
    app = lbtoolkit.new_service(
        "svc",
        env_prefix="SVC",
        environ=environ_for("SVC_PGSQL", DATABASE=database, APPLICATION_NAME=app_name),
        argv=[],
    )
    plugin = postgres_pg.new_plugin(app.runtime, postgres_pg.Options(name="pgsql"))
    app.runtime.plugin.provide(lambda: plugin, provides=postgres_pg.Plugin, name="pgsql")
    await app.start()
    try:
        # mypy rejects a protocol as type[T]; resolving it is what handlers do.
        db = await app.runtime.injector.get(postgres_pg.Plugin)  # type: ignore[type-abstract]
        assert await db.db().fetchval("SELECT current_database()") == database
        assert (await app.runtime.tools.probes.run("readiness")) == {"pgsql": "ok"}
    finally:
        await app.stop()
    assert await wait_connections(app_name, 0) == 0
