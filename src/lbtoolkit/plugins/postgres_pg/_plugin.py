"""The postgres_pg (and postgres_pgx) plugin: an asyncpg connection pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import asyncpg

from lbtoolkit.plugins._postgres import (
    Migration,
    Options,
    PluginState,
    PostgresConfig,
    PostgresPlugin,
)
from lbtoolkit.plugins.postgres_pg._pool import open_pool
from lbtoolkit.testing import new_test_runtime

if TYPE_CHECKING:
    from lbtoolkit import Runtime

__all__ = ["Config", "PgPlugin", "Plugin", "new_plugin", "new_test_plugin"]


class Config(PostgresConfig):
    """Variables of a postgres_pg instance (``{SERVICE}_{PREFIX}_HOST``, ...).

    ``DSN`` overrides the connection fields; the pool settings also answer to
    the Go pgx plugin's names (``MAX_POOL_SIZE``, ``MIN_POOL_SIZE``, ...).
    """


class Plugin(Protocol):
    """PostgreSQL through an asyncpg pool; what services and handlers call."""

    def db(self) -> asyncpg.Pool:
        """The pool; safe to share between tasks. Only after ``pre_start``."""
        ...

    def info(self) -> str:
        """Print the variables and values in use, secrets masked; return the text."""
        ...

    async def run_migration(self) -> list[Migration]:
        """Apply the pending ``.sql`` files of ``MIGRATIONS_DIR``; return those applied."""
        ...

    async def health_check(self) -> None:
        """Return when the server answers; raise ``PostgresConnectError`` otherwise."""
        ...

    async def pre_start(self) -> None:
        """Open the pool (with retries and backoff); fail naming host and port."""
        ...

    async def on_stop(self) -> None:
        """Close the pool once its connections are released."""
        ...


class PgPlugin(PostgresPlugin):
    """The implementation behind :class:`Plugin`."""

    kind = "postgres_pg"
    config_model = Config

    def __init__(self, runtime: Runtime, options: Options) -> None:
        super().__init__(runtime, options)
        self._pool: asyncpg.Pool | None = None

    def db(self) -> asyncpg.Pool:
        self._require("db")
        assert self._pool is not None  # noqa: S101 - guaranteed by the state check
        return self._pool

    async def pre_start(self) -> None:
        if self._pool is not None:
            return
        sql_log = self.log.getChild(f"{self.prefix}.sql")
        self._pool = await self.connector.retry(
            lambda: open_pool(self.config, self.connector, sql_log)
        )
        self.state = PluginState.STARTED
        self.log.info("%s: connected to %s", self.owner, self.connector.address)

    async def on_stop(self) -> None:
        pool, self._pool = self._pool, None
        if self.state is PluginState.STARTED:
            self.state = PluginState.STOPPED
        if pool is not None:
            # Servers drained before plugins stop, so no request still holds
            # a connection; a cancelled close terminates them instead.
            await pool.close()

    async def _ping(self) -> None:
        async with self.db().acquire() as conn:
            await conn.execute("SELECT 1")


def new_plugin(runtime: Runtime, options: Options) -> Plugin:
    """Build the plugin; its config is parsed now, the pool opens in ``pre_start``."""
    return PgPlugin(runtime, options)


def new_test_plugin(
    options: Options | None = None, *, environ: Mapping[str, str] | None = None
) -> Plugin:
    """Build the plugin on a runtime that reads only ``environ`` (the guide's ``NewTestPlugin``).

    ``options`` defaults to prefix ``test`` (variables ``TEST_HOST``, ...).
    Configuration problems are raised here, at once.
    """
    runtime = new_test_runtime(environ=environ)
    plugin = new_plugin(runtime, options or Options(name="test"))
    runtime.config.raise_for_issues()
    return plugin
