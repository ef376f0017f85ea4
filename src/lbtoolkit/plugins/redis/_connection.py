"""Building redis-py clients from the plugin's config.

redis-py has one socket timeout for reads and writes. The plugin gives it
``READ_TIMEOUT`` and bounds writes by ``WRITE_TIMEOUT`` in a connection
subclass, so a write never waits longer than either.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import Connection

from lbtoolkit.plugins.redis._config import seconds

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lbtoolkit.plugins.redis._config import Address, Config

__all__ = ["TimedConnection", "new_client", "new_cluster_client", "timed_connection_class"]


class TimedConnection(Connection):
    """A connection whose writes time out after ``write_timeout`` seconds."""

    write_timeout: float | None = None

    async def _send_packed_command(self, command: Iterable[bytes]) -> None:
        # redis-py turns the TimeoutError into its own "Timeout writing to socket".
        async with asyncio.timeout(self.write_timeout):
            await super()._send_packed_command(command)


@functools.cache
def timed_connection_class(write_timeout: float | None) -> type[TimedConnection]:
    """A subclass per timeout: redis-py builds connections from a class, not a factory."""
    name = f"TimedConnection_{write_timeout}"
    return type(name, (TimedConnection,), {"write_timeout": write_timeout})


def _common(config: Config, client_name: str) -> dict[str, Any]:
    return {
        "username": config.username or None,
        "password": config.password.get_secret_value() or None,
        "client_name": client_name,
        "socket_connect_timeout": seconds(config.dial_timeout),
        "socket_timeout": seconds(config.read_timeout),
    }


def new_client(config: Config, address: Address, client_name: str) -> Redis:
    """A client with a pool of at most ``POOL_SIZE`` connections to ``DATABASE``.

    Like go-redis, a command waits for a free connection when all are busy,
    up to the read timeout plus one second, instead of opening more.
    """
    read = seconds(config.read_timeout)
    pool = BlockingConnectionPool(
        host=address.host,
        port=address.port,
        db=config.database,
        max_connections=config.pool_size,
        timeout=None if read is None else read + 1,
        connection_class=timed_connection_class(seconds(config.write_timeout)),
        **_common(config, client_name),
    )
    return Redis.from_pool(pool)


def new_cluster_client(config: Config, seeds: list[Address], client_name: str) -> RedisCluster:
    """A cluster client that discovers the cluster from ``seeds``, ``POOL_SIZE`` per node."""
    client = RedisCluster(
        startup_nodes=[ClusterNode(a.host, a.port) for a in seeds],
        max_connections=config.pool_size,
        **_common(config, client_name),
    )
    # RedisCluster takes no connection class; every node it creates (seeds
    # now, discovered nodes later) is built from these shared settings.
    timed = timed_connection_class(seconds(config.write_timeout))
    client.nodes_manager.connection_kwargs["connection_class"] = timed
    for node in client.nodes_manager.startup_nodes.values():
        node.connection_class = timed
    return client
