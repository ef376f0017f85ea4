"""The SQLAlchemy ``AsyncEngine`` of the plugin: pool settings and SQL logging."""

from __future__ import annotations

import logging
import time
from time import monotonic
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

if TYPE_CHECKING:
    from sqlalchemy.pool import ConnectionPoolEntry

    from lbtoolkit.plugins._postgres import Connector, PostgresConfig

__all__ = ["IdleExpiringPool", "build_engine"]

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
    a ping is a round trip per checkout (about 14 % of the throughput of a
    one-row ORM query, measured with the benchmark's postgres_gorm worker).
    A connection the server closed (a restart, an administrator's terminate)
    is replaced when drawn all the same, for 0.3 µs: asyncpg has seen the
    socket close (see :class:`IdleExpiringPool`). One that died unseen is discarded by
    SQLAlchemy when its query fails with a disconnect error.
    """
    # SQLAlchemy reads pool_size=0 as "no limit", the opposite of "keep none
    # idle"; one idle connection is the closest it can express.
    idle = max(1, config.idle_connections)
    lifetime = config.conn_max_lifetime.total_seconds()
    idle_time = config.conn_max_idle_time.total_seconds()
    engine = create_async_engine(
        # Only the dialect comes from the URL: connections come from the
        # connector, so the DSN and the fields mean what they mean to asyncpg.
        "postgresql+asyncpg://",
        async_creator=connector.connect,
        pool_size=idle,
        max_overflow=max(0, config.max_connections - idle),
        pool_recycle=lifetime if lifetime > 0 else -1,
        pool_pre_ping=pre_ping,
        poolclass=IdleExpiringPool,
    )
    if idle_time > 0:
        pool = engine.sync_engine.pool
        assert isinstance(pool, IdleExpiringPool)  # noqa: S101 - the poolclass given above
        pool.max_idle = idle_time
    if config.debug:
        _log_statements(engine, sql_log)
    return engine


class IdleExpiringPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool that replaces a connection idle too long or closed.

    SQLAlchemy has no idle timeout of its own. The check is made when a
    connection is drawn: one idle for too long is closed there, and SQLAlchemy
    opens another in its place. So is one the server closed while it waited in
    the pool (asyncpg's ``is_closed()``, a flag set when the socket closed: no
    round trip), so the first query after a database restart does not fail.
    Both are done in the pool's own get and return steps, not in pool event
    listeners: with listeners, drawing and returning a connection took about
    2 µs longer than without the idle check; this way, 0.7 µs (measured with
    SQLAlchemy 2.1 on the benchmark machine).
    """

    max_idle: float = float("inf")
    """Seconds a pooled connection may stay unused."""

    # SQLAlchemy names a pool's logger after its class's module; this keeps the
    # pool's lines under "sqlalchemy.pool", whose level the runtime sets.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.IdleExpiringPool"

    def recreate(self) -> AsyncAdaptedQueuePool:
        pool = super().recreate()
        assert isinstance(pool, IdleExpiringPool)  # noqa: S101 - recreate keeps the class
        pool.max_idle = self.max_idle
        return pool

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = monotonic()
        super()._do_return_conn(record)

    def _do_get(self) -> ConnectionPoolEntry:
        record = super()._do_get()
        since = record.info.pop(_IDLE_SINCE, None)
        if (since is not None and monotonic() - since > self.max_idle) or _closed(record):
            # Closes the connection; SQLAlchemy opens a new one before handing the record out.
            record.invalidate()
        return record


def _closed(record: ConnectionPoolEntry) -> bool:
    connection = record.driver_connection
    return connection is not None and bool(connection.is_closed())


def _log_statements(engine: AsyncEngine, sql_log: logging.Logger) -> None:
    """``DEBUG=true``: log statements with their duration, not their parameters (secrets)."""

    def before(conn: Any, *_args: Any) -> None:
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started = conn.info[_STARTED].pop()
        sql_log.info("%.1f ms  %s", (time.perf_counter() - started) * 1e3, statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
