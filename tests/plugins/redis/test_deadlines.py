"""Read and write timeouts kept by the pool's watchdog, against real peers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError
from tests.plugins.redis.servers import SHARED_HOST, SHARED_PORT

from lbtoolkit.plugins.redis._connection import BoundedConnectionPool
from lbtoolkit.plugins.redis._deadlines import DeadlineConnection, Watchdog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

WATCHDOG = "redis connection watchdog"


def _client(port: int, *, read: float | None, write: float | None) -> Redis:
    pool = BoundedConnectionPool(
        host=SHARED_HOST,
        port=port,
        max_connections=2,
        timeout=None,
        connection_class=DeadlineConnection,
        read_timeout=read,
        write_timeout=write,
    )
    return Redis.from_pool(pool)


@contextlib.asynccontextmanager
async def _stalling_server() -> AsyncIterator[int]:
    """A peer in front of the real Redis that stops reading at the first SET.

    Everything before that (redis-py's handshake, whatever its version sends)
    is relayed to the shared server, so the handshake's answers are real.
    """
    stalled = asyncio.Event()
    done = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def relay_answers(upstream: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await upstream.read(65536):
            writer.write(data)
            await writer.drain()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(SHARED_HOST, SHARED_PORT)
        writers.extend((writer, upstream_writer))
        answers = asyncio.create_task(relay_answers(upstream_reader, writer))
        try:
            while data := await reader.read(65536):
                if b"$3\r\nSET\r\n" in data:
                    stalled.set()
                    await done.wait()  # the client's writes back up from here
                    return
                upstream_writer.write(data)
                await upstream_writer.drain()
        finally:
            answers.cancel()

    server = await asyncio.start_server(serve, SHARED_HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
        assert stalled.is_set()
    finally:
        done.set()
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def test_a_read_past_its_deadline_ends_with_redis_timeout_error() -> None:
    client = _client(SHARED_PORT, read=0.3, write=5)
    try:
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError, match="Timeout reading from"):
            await client.blpop(["lbtoolkit-test:deadlines:missing"], timeout=3)
        # Within an eighth of the timeout past it (plus scheduling).
        assert 0.29 <= time.monotonic() - started < 1.0
        assert await client.ping()  # the pool goes on with a fresh connection
    finally:
        await client.aclose()


async def test_a_write_past_its_deadline_ends_with_redis_timeout_error() -> None:
    async with _stalling_server() as port:
        client = _client(port, read=None, write=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError, match="Timeout writing to socket"):
                await client.set("key", b"x" * (64 * 1024 * 1024))
            assert 0.29 <= time.monotonic() - started < 2.0
        finally:
            await client.aclose()


async def test_a_cancelled_command_stays_cancelled() -> None:
    """Only the watchdog's own cancellation turns into a timeout."""
    client = _client(SHARED_PORT, read=5, write=5)
    try:

        async def wait() -> object:
            return await client.blpop(["lbtoolkit-test:deadlines:missing"], timeout=3)

        command = asyncio.create_task(wait())
        await asyncio.sleep(0.1)
        command.cancel()
        with pytest.raises(asyncio.CancelledError):
            await command
    finally:
        await client.aclose()


async def test_the_watchdog_runs_while_the_pool_is_open_and_only_with_timeouts() -> None:
    def watchdogs() -> int:
        return sum(task.get_name() == WATCHDOG for task in asyncio.all_tasks())

    client = _client(SHARED_PORT, read=5, write=5)
    await client.ping()
    assert watchdogs() == 1
    await client.aclose()
    assert watchdogs() == 0
    untimed = _client(SHARED_PORT, read=None, write=None)
    try:
        await untimed.ping()
        assert watchdogs() == 0
    finally:
        await untimed.aclose()


def test_the_watchdog_looks_eight_times_per_shortest_timeout_within_bounds() -> None:
    def tick(*timeouts: float | None) -> float | None:
        return Watchdog(list, timeouts).tick

    assert tick(3.0, 2.0) == 0.25
    assert tick(None, 4.0) == 0.5
    assert tick(60.0) == 1.0
    assert tick(0.01) == 0.01
    assert tick(None, None) is None
