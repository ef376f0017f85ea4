"""The SQLAlchemy ``AsyncEngine`` of the plugin: pool settings and SQL logging."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from lbtoolkit.plugins._postgres import Connector, PostgresConfig

__all__ = ["build_engine"]

_IDLE_SINCE = "lbtoolkit.idle_since"
_STARTED = "lbtoolkit.started"


def build_engine(
    config: PostgresConfig,
    connector: Connector,
    sql_log: logging.Logger,
    *,
    pre_ping: bool = False,
) -> AsyncEngine:
    """An engine whose connections come from ``connector`` (asyncpg, same arguments as postgres_pg).

    The guide's pool settings map onto SQLAlchemy's queue pool the way Go's
    database/sql reads them: ``MAX_IDLE_CONNECTIONS`` stay open, up to
    ``MAX_CONNECTIONS`` in all, each replaced after ``CONN_MAX_LIFETIME``.
    Like database/sql, a connection is not pinged when drawn unless ``pre_ping``:
    a ping is a round trip per checkout, while a dead connection is already
    discarded by SQLAlchemy when its query fails with a disconnect error.
    """
    # SQLAlchemy reads pool_size=0 as "no limit", the opposite of "keep none
    # idle"; one idle connection is the closest it can express.
    idle = max(1, config.idle_connections)
    lifetime = config.conn_max_lifetime.total_seconds()
    engine = create_async_engine(
        # Only the dialect comes from the URL: connections come from the
        # connector, so the DSN and the fields mean what they mean to asyncpg.
        "postgresql+asyncpg://",
        async_creator=connector.connect,
        pool_size=idle,
        max_overflow=max(0, config.max_connections - idle),
        pool_recycle=lifetime if lifetime > 0 else -1,
        pool_pre_ping=pre_ping,
    )
    idle_time = config.conn_max_idle_time.total_seconds()
    if idle_time > 0:
        _expire_idle_connections(engine, idle_time)
    if config.debug:
        _log_statements(engine, sql_log)
    return engine


def _expire_idle_connections(engine: AsyncEngine, max_idle: float) -> None:
    """Replace a pooled connection idle for longer than ``max_idle`` when it is next drawn.

    SQLAlchemy has no idle timeout of its own; raising ``DisconnectionError``
    at checkout makes the pool discard the connection and open another.
    """
    pool = engine.sync_engine.pool

    def checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is not None and time.monotonic() - since > max_idle:
            msg = "connection idle for longer than CONN_MAX_IDLE_TIME"
            raise DisconnectionError(msg)

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)


def _log_statements(engine: AsyncEngine, sql_log: logging.Logger) -> None:
    """``DEBUG=true``: log statements with their duration, not their parameters (secrets)."""

    def before(conn: Any, *_args: Any) -> None:
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started = conn.info[_STARTED].pop()
        sql_log.info("%.1f ms  %s", (time.perf_counter() - started) * 1e3, statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
