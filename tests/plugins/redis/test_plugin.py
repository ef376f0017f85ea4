"""The redis plugin against the real server on 127.0.0.1:6379 (and private ones)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Protocol

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tests.plugins.redis.servers import SHARED_HOST, SHARED_PORT, closed_port

import lbtoolkit
from lbtoolkit.plugins import redis as redis_plugin
from lbtoolkit.plugins.redis._connection import BoundedConnectionPool
from lbtoolkit.plugins.redis._deadlines import DeadlineConnection
from lbtoolkit.testing import new_test_runtime, open_plugin

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from tests.support.servers import PrivateRedis

pytestmark = pytest.mark.integration

WAIT = 5.0  # seconds any server-side effect may take to show


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


def make(
    prefix: str = "cache", environ: Mapping[str, str] | None = None, *, service: str = ""
) -> tuple[lbtoolkit.Runtime, redis_plugin.Plugin]:
    runtime = new_test_runtime(service or unique("svc"), environ=environ)
    return runtime, redis_plugin.new_plugin(runtime, redis_plugin.Options(prefix))


async def named_clients(name: str, port: int = SHARED_PORT) -> list[dict[str, str]]:
    async with Redis(host=SHARED_HOST, port=port) as raw:
        return [c for c in await raw.client_list() if c.get("name") == name]


async def wait_named_clients(name: str, count: int, port: int = SHARED_PORT) -> None:
    deadline = time.monotonic() + WAIT
    while len(await named_clients(name, port)) != count:
        assert time.monotonic() < deadline, f"{name}: expected {count} connections"
        await asyncio.sleep(0.05)


async def test_round_trip_through_the_test_plugin() -> None:
    key = unique("lbtoolkit-test")
    plugin = redis_plugin.new_test_plugin()
    async with open_plugin(plugin):
        client = plugin.client()
        assert plugin.db() is client
        try:
            assert await client.set(key, "value", ex=30)
            assert await client.get(key) == b"value"
        finally:
            await client.delete(key)


async def test_each_instance_selects_its_own_database() -> None:
    environ = {
        "MYSERVICE_SESSION_CACHE_DATABASE": "1",
        "MYSERVICE_DATA_CACHE_ENDPOINT": f"{SHARED_HOST}:{SHARED_PORT}",
        "MYSERVICE_DATA_CACHE_DATABASE": "2",
    }
    runtime = new_test_runtime(unique("svc"), env_prefix="MYSERVICE", environ=environ)
    session = redis_plugin.new_plugin(runtime, redis_plugin.Options("session_cache"))
    data = redis_plugin.new_plugin(runtime, redis_plugin.Options("data_cache"))
    runtime.config.raise_for_issues()
    key = unique("lbtoolkit-test")
    async with open_plugin(session), open_plugin(data):
        await session.client().set(key, "session", ex=30)
        await data.client().set(key, "data", ex=30)
        try:
            # Read back through raw clients that select the database themselves.
            for db, expected in ((1, b"session"), (2, b"data"), (0, None)):
                async with Redis(host=SHARED_HOST, port=SHARED_PORT, db=db) as raw:
                    assert await raw.get(key) == expected, f"database {db}"
            listed = await named_clients(f"{runtime.meta.name}.data_cache")
            assert {c["db"] for c in listed} == {"2"}
        finally:
            await session.client().delete(key)
            await data.client().delete(key)


async def test_readiness_is_ok_while_started_and_fails_before() -> None:
    runtime, plugin = make("cache")
    report = await runtime.tools.probes.run("readiness")
    assert (
        report["cache"]
        == 'RedisStateError: plugin "cache" (redis): ping() failed: the plugin is not started'
    )
    async with open_plugin(plugin):
        assert (await runtime.tools.probes.run("readiness"))["cache"] == "ok"
    assert (await runtime.tools.probes.run("readiness"))["cache"] != "ok"


async def test_unreachable_server_fails_the_start_and_readiness() -> None:
    port = closed_port()
    runtime, plugin = make("session_cache", {"SESSION_CACHE_ADDR": f"127.0.0.1:{port}"})
    with pytest.raises(redis_plugin.RedisConnectError) as caught:
        await plugin.pre_start()
    error = caught.value
    assert isinstance(error, ConnectionError)
    assert (error.prefix, error.address) == ("session_cache", f"127.0.0.1:{port}")
    assert str(error) == (
        f'plugin "session_cache" (redis): cannot connect to 127.0.0.1:{port}: '
        f"Error 111 connecting to 127.0.0.1:{port}. Connect call failed ('127.0.0.1', {port}).\n"
        "Hint: check that Redis is running there, or point SESSION_CACHE_ADDR at it"
    )
    report = await runtime.tools.probes.run("readiness")
    assert report["session_cache"] != "ok"


async def test_readiness_fails_when_the_server_goes_away(private_redis: PrivateRedis) -> None:
    runtime, plugin = make("cache", {"CACHE_ADDR": private_redis.addr, "CACHE_READ_TIMEOUT": "1"})
    async with open_plugin(plugin):
        assert (await runtime.tools.probes.run("readiness"))["cache"] == "ok"
        private_redis.stop()
        report = await runtime.tools.probes.run("readiness")
        assert report["cache"] != "ok"
        assert "ConnectionError" in report["cache"] or "timed out" in report["cache"]


async def test_a_failed_start_never_shows_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "hunter2-" + uuid.uuid4().hex
    port = closed_port()
    environ = {"CACHE_ADDR": f"127.0.0.1:{port}", "CACHE_PASSWORD": secret}
    _, plugin = make("cache", environ)
    with pytest.raises(redis_plugin.RedisConnectError) as caught:
        await plugin.pre_start()
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)
    assert secret not in caplog.text


class CachePlugin(redis_plugin.Plugin, Protocol):
    """What generated code declares for ``{prefix: "cache" plugin: "redis"}``."""


async def test_service_start_names_the_prefix_address_and_cause() -> None:
    port = closed_port()
    service = lbtoolkit.new_service(
        "svc",
        env_prefix="MYSERVICE",
        environ={"MYSERVICE_CACHE_ADDR": f"127.0.0.1:{port}"},
        argv=[],
    )
    plugin = redis_plugin.new_plugin(service.runtime, redis_plugin.Options("cache"))
    service.runtime.plugin.provide(lambda: plugin, provides=CachePlugin, name="cache")
    with pytest.raises(lbtoolkit.StartError) as caught:
        await service.start()
    text = str(caught.value)
    assert 'plugin "cache" (redis)' in text
    assert f"cannot connect to 127.0.0.1:{port}" in text
    assert "Connect call failed" in text


async def test_service_lifecycle_opens_and_closes_the_client() -> None:
    name = unique("svc")
    service = lbtoolkit.new_service(name, env_prefix="MYSERVICE", environ={}, argv=[])
    plugin = redis_plugin.new_plugin(service.runtime, redis_plugin.Options("cache"))
    service.runtime.plugin.provide(lambda: plugin, provides=CachePlugin, name="cache")
    await service.start()
    try:
        assert await plugin.client().ping()
        assert (await service.runtime.tools.probes.run("readiness"))["cache"] == "ok"
    finally:
        await service.stop()
    await wait_named_clients(f"{name}.cache", 0)


async def test_on_stop_releases_every_connection() -> None:
    runtime, plugin = make("cache")
    name = f"{runtime.meta.name}.cache"
    before = len(await named_clients(name))
    async with open_plugin(plugin):
        client = plugin.client()
        # Several concurrent commands open several pooled connections.
        await asyncio.gather(*(client.blpop([unique("missing")], timeout=0.2) for _ in range(4)))
        assert len(await named_clients(name)) == before + 4
    await wait_named_clients(name, before)


async def test_pool_size_bounds_the_connections() -> None:
    runtime, plugin = make("cache", {"CACHE_POOL_SIZE": "2"})
    name = f"{runtime.meta.name}.cache"
    async with open_plugin(plugin):
        client = plugin.client()
        started = time.monotonic()
        # Six 0.2 s blocking commands on two connections take three rounds.
        await asyncio.gather(*(client.blpop([unique("missing")], timeout=0.2) for _ in range(6)))
        assert time.monotonic() - started >= 0.55
        assert len(await named_clients(name)) == 2


async def test_a_checkout_waits_for_a_free_connection_up_to_the_pool_timeout() -> None:
    pool = BoundedConnectionPool(host=SHARED_HOST, port=SHARED_PORT, max_connections=1, timeout=0.2)
    try:
        held = await pool.get_connection()
        started = time.monotonic()
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await pool.get_connection()
        assert 0.15 <= time.monotonic() - started < 1.0
        waiting = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await pool.release(held)
        assert await waiting is held  # handed over, not a second connection
        await pool.release(held)
    finally:
        await pool.aclose()


async def test_a_cancelled_wait_for_a_connection_loses_no_slot() -> None:
    pool = BoundedConnectionPool(
        host=SHARED_HOST, port=SHARED_PORT, max_connections=1, timeout=None
    )
    try:
        held = await pool.get_connection()
        cancelled = asyncio.create_task(pool.get_connection())
        waiting = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        cancelled.cancel()
        await pool.release(held)  # the cancelled checkout must not swallow it
        connection = await asyncio.wait_for(waiting, 1.0)
        await pool.release(connection)
        # Handed a slot in the same moment as being cancelled: the slot moves on.
        held = await pool.get_connection()
        unlucky = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        await pool.release(held)
        unlucky.cancel()
        with pytest.raises(asyncio.CancelledError):
            await unlucky
        connection = await asyncio.wait_for(pool.get_connection(), 1.0)
        await pool.release(connection)
    finally:
        await pool.aclose()


async def test_checkouts_queued_behind_a_busy_pool_lock_wait_their_turn() -> None:
    """While redis-py's pool lock is held (a release reconnecting, say), checkouts queue."""
    pool = BoundedConnectionPool(host=SHARED_HOST, port=SHARED_PORT, max_connections=1, timeout=2)
    try:
        await pool.release(await pool.get_connection())  # one idle connection
        lock = pool._lock  # the lock redis-py's own checkout takes
        await lock.acquire()
        first = asyncio.create_task(pool.get_connection())
        second = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        assert not first.done()
        assert not second.done()
        lock.release()
        connection = await asyncio.wait_for(first, 1.0)
        await asyncio.sleep(0.05)
        assert not second.done()  # waits for the one connection instead of failing
        await pool.release(connection)
        assert await asyncio.wait_for(second, 1.0) is connection
        await pool.release(connection)
    finally:
        await pool.aclose()


async def test_a_failed_checkout_gives_its_slot_back() -> None:
    pool = BoundedConnectionPool(
        host=SHARED_HOST, port=closed_port(), max_connections=1, timeout=0.2
    )
    try:
        for _ in range(3):  # a lost slot would turn the refusal into "No connection available"
            with pytest.raises(RedisConnectionError, match="Connect"):
                await pool.get_connection()
    finally:
        await pool.aclose()


async def test_read_timeout_is_honoured() -> None:
    _, plugin = make("cache", {"CACHE_READ_TIMEOUT": "1"})
    async with open_plugin(plugin):
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await plugin.client().blpop([unique("missing")], timeout=3)
        assert 0.9 <= time.monotonic() - started < 2.5


@pytest.fixture
async def tuned() -> AsyncIterator[redis_plugin.Plugin]:
    environ = {"CACHE_DIAL_TIMEOUT": "7", "CACHE_READ_TIMEOUT": "4", "CACHE_WRITE_TIMEOUT": "2"}
    _, plugin = make("cache", environ)
    async with open_plugin(plugin):
        yield plugin


async def test_timeouts_reach_every_connection(tuned: redis_plugin.Plugin) -> None:
    client = tuned.client()
    assert isinstance(client, Redis)
    await client.ping()
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] == 7.0
    # Each timeout kept apart, by the pool's watchdog rather than socket timeouts.
    assert (kwargs["read_timeout"], kwargs["write_timeout"]) == (4.0, 2.0)
    pool = client.connection_pool
    assert isinstance(pool, BoundedConnectionPool)
    connection = await pool.get_connection()
    try:
        assert isinstance(connection, DeadlineConnection)
        assert connection.socket_timeout is None
    finally:
        await pool.release(connection)
    assert pool.timeout == 5.0  # READ_TIMEOUT + 1 s waiting for a free connection
