"""Cluster mode against a real three-primary Redis Cluster started for the session."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis, RedisCluster
from tests.plugins.redis.servers import closed_port

from lbtoolkit.plugins import redis as redis_plugin
from lbtoolkit.testing import new_test_runtime, open_plugin

pytestmark = pytest.mark.integration

WAIT = 5.0


def ports(addr: str) -> list[int]:
    return [int(part.rsplit(":", 1)[1]) for part in addr.split(",")]


async def named_clients(name: str, port: int) -> int:
    async with Redis(host="127.0.0.1", port=port) as raw:
        return sum(c.get("name") == name for c in await raw.client_list())


async def test_cluster_round_trip_spreads_keys_over_the_primaries(redis_cluster: str) -> None:
    environ = {"CACHE_ADDR": redis_cluster, "CACHE_CLUSTER_MODE": "true"}
    plugin = redis_plugin.new_test_plugin(redis_plugin.Options("cache"), environ=environ)
    keys = [f"lbtoolkit-test-{uuid.uuid4().hex}" for _ in range(30)]
    async with open_plugin(plugin):
        client = plugin.client()
        assert isinstance(client, RedisCluster)
        assert plugin.cluster_db() is client
        assert plugin.db() is client
        for key in keys:
            await client.set(key, key, ex=60)
        assert [await client.get(key) for key in keys] == [k.encode() for k in keys]
        # Each primary holds some of the keys: the cluster really shards them.
        held = []
        for port in ports(redis_cluster):
            async with Redis(host="127.0.0.1", port=port) as node:
                held.append(sum([await node.exists(k) for k in keys if _owns(client, k, port)]))
        assert sum(held) == len(keys)
        assert all(count > 0 for count in held)


def _owns(client: RedisCluster, key: str, port: int) -> bool:
    node = client.get_node_from_key(key)
    return node is not None and int(node.port) == port


async def test_go_names_select_cluster_mode(redis_cluster: str) -> None:
    environ = {"REDIS_ENDPOINT": redis_cluster.split(",", maxsplit=1)[0], "REDIS_CLUSTER": "true"}
    plugin = redis_plugin.new_test_plugin(environ=environ)
    async with open_plugin(plugin):
        # One seed is enough: the other primaries are discovered.
        assert len(plugin.cluster_db().get_primaries()) == 3


async def test_cluster_connections_carry_the_timeouts_and_close_on_stop(
    redis_cluster: str,
) -> None:
    runtime = new_test_runtime(
        f"svc-{uuid.uuid4().hex[:8]}",
        environ={
            "CACHE_ADDR": redis_cluster,
            "CACHE_CLUSTER_MODE": "1",
            "CACHE_WRITE_TIMEOUT": "2",
        },
    )
    plugin = redis_plugin.new_plugin(runtime, redis_plugin.Options("cache"))
    name = f"{runtime.meta.name}.cache"
    async with open_plugin(plugin):
        client = plugin.cluster_db()
        await asyncio.gather(*(client.set(f"k{i}-{uuid.uuid4().hex}", 1, ex=10) for i in range(12)))
        for node in client.get_nodes():
            assert node.connection_kwargs["socket_timeout"] == 2.0
        assert sum([await named_clients(name, port) for port in ports(redis_cluster)]) >= 3
        assert (await runtime.tools.probes.run("readiness"))["cache"] == "ok"
    deadline = time.monotonic() + WAIT
    while sum([await named_clients(name, port) for port in ports(redis_cluster)]):
        assert time.monotonic() < deadline, "cluster connections left open after on_stop"
        await asyncio.sleep(0.05)


async def test_unreachable_cluster_fails_the_start_naming_the_seeds() -> None:
    seeds = f"127.0.0.1:{closed_port()},127.0.0.1:{closed_port()}"
    environ = {"CACHE_ADDR": seeds, "CACHE_CLUSTER_MODE": "true"}
    plugin = redis_plugin.new_test_plugin(redis_plugin.Options("cache"), environ=environ)
    with pytest.raises(redis_plugin.RedisConnectError) as caught:
        await plugin.pre_start()
    assert str(caught.value).startswith(f'plugin "cache" (redis): cannot connect to {seeds}: ')
