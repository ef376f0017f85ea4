"""Building redis-py clients from the plugin's config.

redis-py has one socket timeout, which bounds each read and each write. The
plugin sets it to the smaller of ``READ_TIMEOUT`` and ``WRITE_TIMEOUT`` (a
turned-off one left out), so no read and no write waits longer than the
variable meant for it; a read may be cut short by a shorter ``WRITE_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Any

from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import ConnectionError as RedisConnectionError

from lbtoolkit.plugins.redis._config import seconds

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection

    from lbtoolkit.plugins.redis._config import Address, Config

__all__ = ["BoundedConnectionPool", "new_client", "new_cluster_client", "socket_timeout"]


class BoundedConnectionPool(ConnectionPool):
    """A pool of at most ``max_connections`` where a checkout waits for a free one.

    redis-py's ``BlockingConnectionPool`` does the same but runs every checkout
    and release through a condition and a timeout, even when a connection is
    free: a large share of a fast command's time. Here a free slot is taken
    without awaiting anything; only a checkout that finds every connection
    busy waits, first come first served, for at most ``timeout`` seconds.
    """

    def __init__(self, *, max_connections: int, timeout: float | None, **kwargs: Any) -> None:
        super().__init__(max_connections=max_connections, **kwargs)
        self.timeout = timeout
        self._free = max_connections
        self._waiters: deque[asyncio.Future[None]] = deque()
        # The connections handed out, each holding a slot until it comes back.
        # redis-py's get_connection releases a connection it failed to hand
        # out itself; that one's slot is given back by the checkout instead.
        self._holding: set[AbstractConnection] = set()

    async def get_connection(self, *_args: Any, **_options: Any) -> AbstractConnection:
        if self._free and not self._waiters:
            self._free -= 1
        else:
            await self._wait_for_slot()
        try:
            # redis-py leaves get_connection untyped (a deprecation decorator wraps it).
            connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            self._give_back_slot()
            raise
        self._holding.add(connection)
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        try:
            await super().release(connection)
        finally:
            if connection in self._holding:
                self._holding.discard(connection)
                self._give_back_slot()

    async def _wait_for_slot(self) -> None:
        # A waiter cancelled a moment ago may still be queued: it holds no one back.
        if self._free and all(waiter.done() for waiter in self._waiters):
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    await waiter
                except BaseException:
                    if waiter.cancelled():
                        with contextlib.suppress(ValueError):  # already dropped by a release
                            self._waiters.remove(waiter)
                    else:  # handed a slot just as the wait ended: pass it on
                        self._give_back_slot()
                    raise
        except TimeoutError as error:
            raise RedisConnectionError("No connection available.") from error

    def _give_back_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


def socket_timeout(config: Config) -> float | None:
    """redis-py's one socket timeout: the smaller of the read and write timeouts set."""
    timeouts = [t for t in (seconds(config.read_timeout), seconds(config.write_timeout)) if t]
    return min(timeouts, default=None)


def _common(config: Config, client_name: str) -> dict[str, Any]:
    return {
        "username": config.username or None,
        "password": config.password.get_secret_value() or None,
        "client_name": client_name,
        "socket_connect_timeout": seconds(config.dial_timeout),
        "socket_timeout": socket_timeout(config),
    }


def new_client(config: Config, address: Address, client_name: str) -> Redis:
    """A client with a pool of at most ``POOL_SIZE`` connections to ``DATABASE``.

    Like go-redis, a command waits for a free connection when all are busy,
    up to the read timeout plus one second, instead of opening more.
    """
    read = seconds(config.read_timeout)
    pool = BoundedConnectionPool(
        host=address.host,
        port=address.port,
        db=config.database,
        max_connections=config.pool_size,
        timeout=None if read is None else read + 1,
        **_common(config, client_name),
    )
    return Redis.from_pool(pool)


def new_cluster_client(config: Config, seeds: list[Address], client_name: str) -> RedisCluster:
    """A cluster client that discovers the cluster from ``seeds``, ``POOL_SIZE`` per node."""
    return RedisCluster(
        startup_nodes=[ClusterNode(a.host, a.port) for a in seeds],
        max_connections=config.pool_size,
        **_common(config, client_name),
    )
