"""The postgres_pg (and postgres_pgx) plugin: an asyncpg connection pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import asyncpg

from lbtoolkit.plugins import build_test_plugin
from lbtoolkit.plugins._postgres import CommonPlugin, Options, PostgresConfig, PostgresPlugin
from lbtoolkit.plugins.postgres_pg._pool import open_pool

if TYPE_CHECKING:
    import logging

    from lbtoolkit import Runtime

__all__ = ["Config", "PgPlugin", "Plugin", "new_plugin", "new_test_plugin"]


class Config(PostgresConfig):
    """Variables of a postgres_pg instance (``{SERVICE}_{PREFIX}_HOST``, ...).

    ``DSN`` overrides the connection fields; the pool settings also answer to
    the Go pgx plugin's names (``MAX_POOL_SIZE``, ``MIN_POOL_SIZE``, ...).
    """


class Plugin(CommonPlugin, Protocol):
    """PostgreSQL through an asyncpg pool; what services and handlers call."""

    def db(self) -> asyncpg.Pool:
        """The pool; safe to share between tasks. Only after ``pre_start``."""
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

    async def _open(self, sql_log: logging.Logger) -> None:
        self._pool = await self.connector.retry(
            lambda: open_pool(self.config, self.connector, sql_log)
        )

    async def _close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # Servers drained before plugins stop, so no request still holds
            # a connection; a cancelled close terminates them instead.
            await pool.close()

    async def _ping(self) -> None:
        async with self.db().acquire() as conn:
            await conn.execute("SELECT 1")

    def _outage_owners(self) -> tuple[object, ...]:
        return () if self._pool is None else (self._pool,)


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
    return build_test_plugin(new_plugin, options or Options(name="test"), environ=environ)
