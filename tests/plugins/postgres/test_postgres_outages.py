"""The PostgreSQL plugins register what "server unreachable" looks like in their client library."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import asyncpg
import pytest
from sqlalchemy import exc

from lbtoolkit.plugins import postgres_gorm, postgres_pg
from lbtoolkit.plugins._postgres import PostgresPlugin
from lbtoolkit.testing import open_plugin
from lbtoolkit.tools import Outages

pytestmark = pytest.mark.integration

Environ = Callable[..., dict[str, str]]


def outages_of(plugin: object) -> Outages:
    return cast("PostgresPlugin", plugin).runtime.tools.outages


def invalidated(*, connection_invalidated: bool) -> exc.DBAPIError:
    return exc.DBAPIError(
        "SELECT 1", None, ConnectionResetError(), connection_invalidated=connection_invalidated
    )


def test_gorm_claims_sqlalchemys_disconnects_and_pool_timeouts(environ_for: Environ) -> None:
    outages = outages_of(postgres_gorm.new_test_plugin(environ=environ_for("TEST")))
    [registered] = outages.registered()
    assert registered.message == 'plugin "test" (postgres_gorm) is unavailable'
    assert outages.classify(invalidated(connection_invalidated=True)) is registered
    assert outages.classify(exc.TimeoutError("QueuePool limit reached")) is registered
    assert outages.classify(asyncpg.ConnectionDoesNotExistError("closed")) is registered
    # A failed statement on a live connection is the service's own error.
    assert outages.classify(invalidated(connection_invalidated=False)) is None
    assert outages.classify(asyncpg.UniqueViolationError("duplicate key")) is None
    # A refused connection counts only when it comes through the plugin's engine.
    assert outages.classify(ConnectionRefusedError(111, "refused")) is None


def test_pg_claims_asyncpgs_connection_errors(environ_for: Environ) -> None:
    outages = outages_of(postgres_pg.new_test_plugin(environ=environ_for("TEST")))
    [registered] = outages.registered()
    assert registered.message == 'plugin "test" (postgres_pg) is unavailable'
    for error in (
        asyncpg.TooManyConnectionsError("too many clients"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    ):
        assert outages.classify(error) is registered
    assert outages.classify(exc.TimeoutError("not this library's")) is None
    assert outages.classify(asyncpg.UndefinedTableError("no such table")) is None


async def test_a_terminated_connection_is_an_outage_until_the_check_passes(
    environ_for: Environ,
) -> None:
    plugin = postgres_pg.new_test_plugin(environ=environ_for("TEST", DATABASE="test"))
    outages = outages_of(plugin)
    [registered] = outages.registered()
    async with open_plugin(plugin):
        async with plugin.db().acquire() as victim:
            backend = await victim.fetchval("SELECT pg_backend_pid()")
            sleeping = asyncio.ensure_future(victim.execute("SELECT pg_sleep(30)"))
            await plugin.db().fetchval("SELECT pg_terminate_backend($1)", backend)
            with pytest.raises(asyncpg.PostgresError) as raised:
                await sleeping
        assert outages.report(raised.value, "/svc/Get") is registered
        assert registered.down
        await plugin.health_check()
        assert not registered.down
