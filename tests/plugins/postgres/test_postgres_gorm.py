"""postgres_gorm (SQLAlchemy async ORM) against the real server."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import NewType, Protocol

import pytest
from sqlalchemy import String, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import lbtoolkit
from lbtoolkit.plugins import postgres_gorm
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


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


async def test_round_trip_through_the_orm(
    make_database: MakeDatabase, app_name: str, environ_for: Environ
) -> None:
    database = await make_database()
    env = environ_for("TEST", DATABASE=database, APPLICATION_NAME=app_name)
    async with open_plugin(postgres_gorm.new_test_plugin(environ=env)) as plugin:
        async with plugin.db().begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with plugin.session() as session:
            session.add_all([User(name="ada"), User(name="grace")])
            await session.commit()
        async with plugin.session() as session:
            names = (await session.scalars(select(User.name).order_by(User.id))).all()
            assert names == ["ada", "grace"]
            row = (
                await session.execute(
                    text(
                        "SELECT current_database(), current_setting('TimeZone'), "
                        "current_setting('application_name')"
                    )
                )
            ).one()
            assert tuple(row) == (database, "UTC", app_name)
        await plugin.health_check()


async def test_two_instances_use_their_own_database(
    make_database: MakeDatabase, environ_for: Environ
) -> None:
    users_db, orders_db = await make_database(), await make_database()
    runtime = new_test_runtime(
        env_prefix="SVC",
        environ={
            **environ_for("SVC_USERS_DB", DATABASE=users_db, MAX_CONNECTIONS="2"),
            **environ_for("SVC_ORDERS_DB", DSN=f"postgresql://postgres@127.0.0.1/{orders_db}"),
        },
    )
    users = postgres_gorm.new_plugin(runtime, postgres_gorm.Options(name="users_db"))
    orders = postgres_gorm.new_plugin(runtime, postgres_gorm.Options(name="orders_db"))
    runtime.config.raise_for_issues()
    async with open_plugin(users), open_plugin(orders):
        for plugin, expected in ((users, users_db), (orders, orders_db)):
            async with plugin.session() as session:
                assert await session.scalar(select(func.current_database())) == expected
        report = await runtime.tools.probes.run("readiness")
        assert (report["users_db"], report["orders_db"]) == ("ok", "ok")


async def test_pre_start_fails_naming_prefix_host_port_and_cause(
    closed_port: int, environ_for: Environ
) -> None:
    env = environ_for("TEST", PORT=str(closed_port), PASSWORD=SECRET, CONN_ATTEMPTS="2")
    plugin = postgres_gorm.new_test_plugin(environ=env)
    with pytest.raises(PostgresConnectError) as caught:
        await plugin.pre_start()
    text_ = str(caught.value)
    assert text_.startswith(
        f'plugin "test" (postgres_gorm): cannot connect to 127.0.0.1:{closed_port} '
        "after 2 attempts: ConnectionRefusedError: "
    )
    assert SECRET not in text_


async def test_dsn_password_never_shows_in_errors(closed_port: int) -> None:
    dsn = f"postgresql://postgres:dsn-Secret-3@127.0.0.1:{closed_port}/test"
    plugin = postgres_gorm.new_test_plugin(environ={"TEST_DSN": dsn, "TEST_CONN_ATTEMPTS": "1"})
    with pytest.raises(PostgresConnectError) as caught:
        await plugin.pre_start()
    assert "dsn-Secret-3" not in str(caught.value)
    assert f"cannot connect to 127.0.0.1:{closed_port}: ConnectionRefusedError" in str(caught.value)
    assert str(caught.value).endswith(
        f"Hint: check TEST_DSN and that PostgreSQL is running at 127.0.0.1:{closed_port}"
    )


async def test_readiness_fails_while_the_server_is_unreachable(
    closed_port: int, environ_for: Environ
) -> None:
    runtime = new_test_runtime(environ=environ_for("PGSQL", PORT=str(closed_port)))
    plugin = postgres_gorm.new_plugin(runtime, postgres_gorm.Options(name="pgsql"))
    with pytest.raises(PostgresConnectError):
        await plugin.pre_start()
    report = await runtime.tools.probes.run("readiness")
    assert report["pgsql"].startswith("PostgresStateError: ")


async def test_readiness_follows_an_outage_after_start(relay: Relay, environ_for: Environ) -> None:
    runtime = new_test_runtime(
        environ=environ_for("PGSQL", PORT=str(relay.port), DATABASE="test", CONN_TIMEOUT="2s")
    )
    plugin = postgres_gorm.new_plugin(runtime, postgres_gorm.Options(name="pgsql"))
    async with open_plugin(plugin):
        assert (await runtime.tools.probes.run("readiness"))["pgsql"] == "ok"
        await relay.close()
        report = await runtime.tools.probes.run("readiness")
        assert report["pgsql"].startswith(
            f'PostgresConnectError: plugin "pgsql" (postgres_gorm): cannot connect to '
            f"127.0.0.1:{relay.port}: "
        )


async def test_on_stop_releases_every_connection(
    app_name: str, environ_for: Environ, wait_connections: WaitConnections
) -> None:
    env = environ_for("TEST", DATABASE="test", APPLICATION_NAME=app_name, MAX_IDLE_CONNECTIONS="2")
    plugin = postgres_gorm.new_test_plugin(environ=env)
    assert await wait_connections(app_name, 0) == 0
    async with open_plugin(plugin):

        async def sleep() -> None:
            async with plugin.session() as session:
                await session.execute(text("SELECT pg_sleep(0.1)"))

        await asyncio.gather(*(sleep() for _ in range(5)))
        # Five at once; afterwards the pool keeps MAX_IDLE_CONNECTIONS open.
        assert await wait_connections(app_name, 2) == 2
    assert await wait_connections(app_name, 0) == 0
    with pytest.raises(PostgresStateError, match="while the plugin is stopped"):
        plugin.db()


async def test_max_connections_bounds_the_pool(
    app_name: str, environ_for: Environ, count_connections: CountConnections
) -> None:
    env = environ_for(
        "TEST",
        DATABASE="test",
        APPLICATION_NAME=app_name,
        MAX_CONNECTIONS="3",
        MAX_IDLE_CONNECTIONS="1",
    )
    async with open_plugin(postgres_gorm.new_test_plugin(environ=env)) as plugin:
        holding = 0
        release = asyncio.Event()

        async def hold() -> None:
            nonlocal holding
            async with plugin.session() as session:
                await session.execute(text("SELECT 1"))
                holding += 1
                await release.wait()

        tasks = [asyncio.create_task(hold()) for _ in range(6)]
        for _ in range(500):  # at most 5 s for three connections to open
            if holding >= 3:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time enough for a fourth, had the pool allowed one
        assert holding == 3  # the other three wait their turn
        assert await count_connections(app_name) == 3
        release.set()
        await asyncio.gather(*tasks)
        assert holding == 6


async def test_idle_connections_are_replaced_when_drawn(environ_for: Environ) -> None:
    env = environ_for(
        "TEST",
        DATABASE="test",
        MAX_CONNECTIONS="1",
        MAX_IDLE_CONNECTIONS="1",
        CONN_MAX_IDLE_TIME="200ms",
    )
    async with open_plugin(postgres_gorm.new_test_plugin(environ=env)) as plugin:

        async def pid() -> int:
            async with plugin.session() as session:
                return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

        first = await pid()
        assert await pid() == first
        await asyncio.sleep(0.3)
        second = await pid()
        assert second != first
        # dispose() gives the engine a new pool, which must keep the limit.
        await plugin.db().dispose()
        third = await pid()
        assert await pid() == third
        await asyncio.sleep(0.3)
        assert await pid() != third


@pytest.mark.parametrize("pre_ping", [False, True])
async def test_a_connection_the_server_closed_is_replaced_without_a_failed_query(
    environ_for: Environ, *, pre_ping: bool
) -> None:
    env = environ_for(
        "TEST",
        DATABASE="test",
        MAX_CONNECTIONS="1",
        MAX_IDLE_CONNECTIONS="1",
        PRE_PING=str(pre_ping).lower(),
    )
    async with (
        open_plugin(postgres_gorm.new_test_plugin(environ=env)) as plugin,
        open_plugin(postgres_gorm.new_test_plugin(environ=env)) as killer,
    ):

        async def pid() -> int:
            async with plugin.session() as session:
                return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

        first = await pid()
        async with killer.session() as session:
            await session.execute(text(f"SELECT pg_terminate_backend({first})"))
        await wait_gone(killer, first)
        # With or without a ping, no query fails: asyncpg has seen the socket close,
        # and the pool replaces the closed connection when it is drawn.
        assert await pid() != first


async def wait_gone(plugin: postgres_gorm.Plugin, backend: int) -> None:
    """Wait until the server closed ``backend`` (each round trip lets the loop see the close)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with plugin.session() as session:
            if not await session.scalar(query, {"pid": backend}):
                return
        assert asyncio.get_running_loop().time() < deadline, f"backend {backend} still there"


async def test_debug_logs_statements_without_parameters(
    environ_for: Environ, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    env = environ_for("TEST", DATABASE="test", DEBUG="true")
    plugin = postgres_gorm.new_test_plugin(environ=env)
    async with open_plugin(plugin), plugin.session() as session:
        await session.execute(text("SELECT CAST(:p AS text)"), {"p": "param-secret"})
    sql = [r.getMessage() for r in caplog.records if r.name == "test.test.sql"]
    assert any("SELECT CAST(" in line for line in sql)
    assert not any("param-secret" in line for line in sql)


UsersSession = NewType("UsersSession", AsyncSession)


async def test_request_scoped_session_through_a_service(
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
    plugin = postgres_gorm.new_plugin(app.runtime, postgres_gorm.Options(name="pgsql"))
    # As generated code registers it, under the plugin's protocol type.
    app.runtime.plugin.provide(lambda: plugin, provides=postgres_gorm.Plugin, name="pgsql")
    postgres_gorm.provide_session(app, postgres_gorm.Plugin)
    postgres_gorm.provide_session(app, plugin, provides=UsersSession)
    await app.start()
    try:
        engine = plugin.db()
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with app.runtime.injector.request_scope() as request:
            session = await request.get(AsyncSession)
            assert await request.get(AsyncSession) is session
            other = await request.get(UsersSession)
            assert other is not session
            session.add(User(name="committed"))
            await session.commit()
            session.add(User(name="left uncommitted"))
            await session.flush()
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with app.runtime.injector.request_scope() as request:
            fresh = await request.get(AsyncSession)
            assert fresh is not session
            names = (await fresh.scalars(select(User.name))).all()
            assert names == ["committed"]
    finally:
        await app.stop()
    assert await wait_connections(app_name, 0) == 0
