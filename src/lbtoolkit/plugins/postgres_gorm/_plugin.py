"""The postgres_gorm plugin: SQLAlchemy 2 async ORM on asyncpg."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lbtoolkit.config import env
from lbtoolkit.plugins import build_test_plugin
from lbtoolkit.plugins._postgres import (
    OUTAGE_ERRORS,
    CommonPlugin,
    Options,
    PostgresConfig,
    PostgresPlugin,
)
from lbtoolkit.plugins.postgres_gorm._engine import build_engine

if TYPE_CHECKING:
    import logging

    from lbtoolkit import Runtime

__all__ = ["Config", "GormPlugin", "Plugin", "new_plugin", "new_test_plugin"]


class Config(PostgresConfig):
    """Variables of a postgres_gorm instance (``{SERVICE}_{PREFIX}_HOST``, ...).

    ``DSN`` overrides the connection fields; ``DEBUG`` logs every statement.
    """

    pre_ping: bool = env(
        "PRE_PING",
        default=False,
        comment="Ping a pooled connection before each use (one more round trip per query)",
    )


class Plugin(CommonPlugin, Protocol):
    """PostgreSQL through SQLAlchemy's async ORM; what services and handlers call."""

    def db(self) -> AsyncEngine:
        """The engine; safe to share between tasks. Only after ``pre_start``."""
        ...

    def session(self) -> AsyncSession:
        """A new session; use it as ``async with plugin.session() as session:``.

        The session never commits by itself: call ``await session.commit()``.
        Objects stay readable after commit (``expire_on_commit=False``).
        """
        ...


class GormPlugin(PostgresPlugin):
    """The implementation behind :class:`Plugin`."""

    kind = "postgres_gorm"
    config_model = Config
    # SQLAlchemy's pool timing out waiting for a free connection: all are taken.
    outage_errors = (*OUTAGE_ERRORS, exc.TimeoutError)

    def __init__(self, runtime: Runtime, options: Options) -> None:
        super().__init__(runtime, options)
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    def db(self) -> AsyncEngine:
        self._require("db")
        assert self._engine is not None  # noqa: S101 - guaranteed by the state check
        return self._engine

    def session(self) -> AsyncSession:
        self._require("session")
        assert self._sessions is not None  # noqa: S101 - guaranteed by the state check
        return self._sessions()

    async def _open(self, sql_log: logging.Logger) -> None:
        assert isinstance(self.config, Config)  # noqa: S101 - config_model is Config
        engine = build_engine(self.config, self.connector, sql_log, pre_ping=self.config.pre_ping)
        try:
            await self.connector.retry(lambda: _ping(engine))
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def _close(self) -> None:
        engine, self._engine, self._sessions = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    async def _ping(self) -> None:
        await _ping(self.db())

    def _outage_owners(self) -> tuple[object, ...]:
        engine = self._engine
        return () if engine is None else (engine.sync_engine, engine.sync_engine.pool)

    def _is_outage(self, error: BaseException) -> bool:
        # A statement failed because its connection died: SQLAlchemy says so.
        return isinstance(error, exc.DBAPIError) and error.connection_invalidated


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def new_plugin(runtime: Runtime, options: Options) -> Plugin:
    """Build the plugin; its config is parsed now, the engine opens in ``pre_start``."""
    return GormPlugin(runtime, options)


def new_test_plugin(
    options: Options | None = None, *, environ: Mapping[str, str] | None = None
) -> Plugin:
    """Build the plugin on a runtime that reads only ``environ`` (the guide's ``NewTestPlugin``).

    ``options`` defaults to prefix ``test`` (variables ``TEST_HOST``, ...).
    Configuration problems are raised here, at once.
    """
    return build_test_plugin(new_plugin, options or Options(name="test"), environ=environ)
