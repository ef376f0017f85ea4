"""The asyncpg pool of the plugin: the guide's pool settings and SQL logging."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

import asyncpg

from lbtoolkit.plugins._postgres import OUTAGE_ERRORS

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from lbtoolkit.plugins._postgres import Connector, PostgresConfig

__all__ = ["open_pool"]


async def open_pool(config: PostgresConfig, connector: Connector, sql_log: logging.Logger) -> Any:
    """Open an ``asyncpg.Pool`` with ``MAX_IDLE_CONNECTIONS`` connections ready.

    ``MAX_CONNECTIONS`` is the pool's size, ``MAX_IDLE_CONNECTIONS`` the
    connections it keeps (and opens at once, so a bad address fails the
    start), ``CONN_MAX_IDLE_TIME`` closes the others once idle that long and
    ``CONN_MAX_LIFETIME`` replaces a connection older than that when it is
    released.
    """
    hooks = _Hooks(config.conn_max_lifetime.total_seconds(), sql_log if config.debug else None)
    # Adding the same filter again is a no-op.
    logging.getLogger("asyncpg.pool").addFilter(_ONE_LINE_RETRIES)
    return await asyncpg.create_pool(
        **connector.connect_kwargs(),
        min_size=config.idle_connections,
        max_size=config.max_connections,
        max_inactive_connection_lifetime=config.conn_max_idle_time.total_seconds(),
        init=hooks.init,
        reset=hooks.reset if hooks.lifetime > 0 else None,
    )


class _OneLineRetries(logging.Filter):
    """asyncpg's pool retries its minimum size in the background, logging a traceback each time.

    While the server is down that is a traceback at 1, 2, 4, ... 60 s intervals
    for an outage the plugin already reports in one line; the retry keeps its
    line, with the error's type and text in place of the traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, OUTAGE_ERRORS):
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = ()
            record.exc_info = record.exc_text = None
        return True


_ONE_LINE_RETRIES = _OneLineRetries()


class _Hooks:
    """asyncpg has no connection lifetime; ``init`` and ``reset`` add one."""

    def __init__(self, lifetime: float, sql_log: logging.Logger | None) -> None:
        self.lifetime = lifetime
        self._sql_log = sql_log
        self._born: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._reset_query = ""

    async def init(self, conn: Any) -> None:
        self._born[conn] = time.monotonic()
        if self._sql_log is not None:
            self._reset_query = conn.get_reset_query()
            conn.add_query_logger(self._log_query)

    def reset(self, conn: Any) -> Awaitable[None]:
        # A plain function handing the pool what to await: this runs on every
        # release, and a coroutine of its own would be one more per query.
        born = self._born.get(conn)
        if born is not None and time.monotonic() - born > self.lifetime:
            # A closed connection goes back to the pool empty; the pool opens
            # a fresh one the next time it is needed.
            return conn.close()  # type: ignore[no-any-return]  # conn: untyped asyncpg object
        query = conn.get_reset_query()
        return conn.execute(query) if query else asyncio.sleep(0)

    def _log_query(self, record: Any) -> None:
        # The pool's own reset after each use is noise, not the service's SQL.
        if record.query == self._reset_query:
            return
        # Arguments are left out: they may be secrets.
        assert self._sql_log is not None  # noqa: S101 - only registered with a logger
        self._sql_log.info("%.1f ms  %s", record.elapsed * 1e3, record.query)
