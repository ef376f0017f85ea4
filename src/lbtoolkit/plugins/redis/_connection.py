"""Building redis-py clients from the plugin's config.

A single-node client keeps ``READ_TIMEOUT`` and ``WRITE_TIMEOUT`` apart, with
a watchdog (``_deadlines.py``). redis-py's cluster client has one socket
timeout, which bounds each read and each write: there it is the smaller of the
two (a turned-off one left out), so no read and no write waits longer than the
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
from redis.exceptions import MaxConnectionsError

from lbtoolkit.plugins.redis._config import seconds
from lbtoolkit.plugins.redis._deadlines import DeadlineConnection, Watchdog

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from redis.asyncio.connection import AbstractConnection

    from lbtoolkit.plugins.redis._config import Address, Config

__all__ = ["BoundedConnectionPool", "new_client", "new_cluster_client", "socket_timeout"]


class BoundedConnectionPool(ConnectionPool):
    """A pool of at most ``max_connections`` where a checkout waits for a free one.

    redis-py's ``BlockingConnectionPool`` does the same but runs every checkout
    and release through a condition and a timeout, even when a connection is
    free: a large share of a fast command's time. Here a checkout that finds a
    connection free, with no one queued, is redis-py's own with nothing added
    (not even a coroutine frame). Only a checkout that finds every connection
    busy queues, first come first served, for at most ``timeout`` seconds; each
    release wakes the first in line. It reads redis-py's pool state (its lock,
    its free and busy connections; redis-py 6 to 8 keep them alike).
    """

    def __init__(self, *, max_connections: int, timeout: float | None, **kwargs: Any) -> None:
        super().__init__(max_connections=max_connections, **kwargs)
        self.timeout = timeout
        self._waiters: deque[asyncio.Future[None]] = deque()
        # Checkouts in the queue, waiting or woken and not yet served: while
        # there are any, a new checkout queues behind them.
        self._queued = 0
        # Keeps the deadlines of DeadlineConnection's reads and writes, if any.
        timeouts = (kwargs.get("read_timeout"), kwargs.get("write_timeout"))
        self._watchdog = Watchdog(lambda: self._in_use_connections, timeouts)

    # Not ``async``: with a connection free it hands back redis-py's own checkout.
    def get_connection(
        self, *_args: Any, **_options: Any
    ) -> Coroutine[Any, Any, AbstractConnection]:
        self._watchdog.start()  # the first checkout, or the first after a disconnect
        # With the pool's lock free, redis-py's checkout takes its connection
        # before anything else runs, so no other checkout can take it first.
        if not self._queued and not self._lock.locked() and self._has_room():
            # redis-py leaves get_connection untyped (a deprecation decorator wraps it).
            checkout: Coroutine[Any, Any, AbstractConnection] = super().get_connection()  # type: ignore[no-untyped-call]
            return checkout
        return self._queued_checkout()

    async def release(self, connection: AbstractConnection) -> None:
        await super().release(connection)
        if self._waiters:
            self._wake_next()

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await self._watchdog.stop()  # the next checkout starts it again
        await super().disconnect(inuse_connections)

    def _has_room(self) -> bool:
        return bool(self._available_connections) or (
            len(self._in_use_connections) < self.max_connections
        )

    async def _queued_checkout(self) -> AbstractConnection:
        deadline = (
            None if self.timeout is None else asyncio.get_running_loop().time() + self.timeout
        )
        self._queued += 1
        try:
            must_wait, first_in_line = self._queued > 1 or not self._has_room(), False
            while True:
                if must_wait:
                    await self._wait_for_release(deadline, first_in_line=first_in_line)
                try:
                    # Untyped in redis-py, as above.
                    connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
                except MaxConnectionsError:
                    # Another checkout got the connection first: wait again, at the front.
                    must_wait = first_in_line = True
                    continue
                return connection
        finally:
            self._queued -= 1
            # Served or given up (a timeout, a cancellation, a failed connect):
            # if a connection is still free, the next in line may take it.
            if self._waiters and self._has_room():
                self._wake_next()

    async def _wait_for_release(self, deadline: float | None, *, first_in_line: bool) -> None:
        waiter = asyncio.get_running_loop().create_future()
        if first_in_line:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self._wake_next()  # woken just as the wait ended: pass the turn on
            else:
                with contextlib.suppress(ValueError):  # already dropped by a release
                    self._waiters.remove(waiter)
            if isinstance(error, TimeoutError):
                raise RedisConnectionError("No connection available.") from error
            raise

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


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
        connection_class=DeadlineConnection,
        read_timeout=read,
        write_timeout=seconds(config.write_timeout),
        **_common(config, client_name),
    )
    return Redis.from_pool(pool)


def new_cluster_client(config: Config, seeds: list[Address], client_name: str) -> RedisCluster:
    """A cluster client that discovers the cluster from ``seeds``, ``POOL_SIZE`` per node."""
    return RedisCluster(
        startup_nodes=[ClusterNode(a.host, a.port) for a in seeds],
        max_connections=config.pool_size,
        socket_timeout=socket_timeout(config),
        **_common(config, client_name),
    )
