"""The redis plugin registers what "server unreachable" looks like in redis-py."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lbtoolkit.plugins import redis as redis_plugin
from lbtoolkit.testing import new_test_runtime, open_plugin

if TYPE_CHECKING:
    from tests.support.servers import PrivateRedis

pytestmark = pytest.mark.integration


def test_connection_errors_and_timeouts_are_the_plugins_outage() -> None:
    runtime = new_test_runtime(f"svc-{uuid.uuid4().hex[:8]}")
    redis_plugin.new_plugin(runtime, redis_plugin.Options("cache"))
    outages = runtime.tools.outages
    [registered] = outages.registered()
    assert registered.message == 'plugin "cache" (redis) is unavailable'
    assert outages.classify(RedisConnectionError("Error 111 connecting")) is registered
    assert outages.classify(RedisTimeoutError("Timeout reading")) is registered
    # Pool exhausted: redis-py says so with a ConnectionError.
    assert outages.classify(RedisConnectionError("No connection available.")) is registered
    assert outages.classify(ResponseError("WRONGTYPE Operation against a key")) is None
    # The socket's own errors count only when raised through the plugin's client.
    assert outages.classify(ConnectionRefusedError(111, "refused")) is None


async def test_a_stopped_server_is_an_outage_until_the_check_passes(
    private_redis: PrivateRedis,
) -> None:
    runtime = new_test_runtime(
        f"svc-{uuid.uuid4().hex[:8]}",
        environ={
            "CACHE_ADDR": private_redis.addr,
        },
    )
    plugin = redis_plugin.new_plugin(runtime, redis_plugin.Options("cache"))
    [registered] = runtime.tools.outages.registered()
    async with open_plugin(plugin):
        await asyncio.to_thread(private_redis.stop)
        with pytest.raises(RedisConnectionError) as raised:
            await plugin.client().get("key")
        assert runtime.tools.outages.report(raised.value, "/svc/Get") is registered
        assert registered.down
        await asyncio.to_thread(private_redis.start)
        report = await runtime.tools.probes.run("readiness")
        assert report["cache"] == "ok"
        assert not registered.down
