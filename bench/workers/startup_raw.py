"""Baseline of start-up: the same connections opened with the client libraries alone.

Usage: ``BENCH_STARTUP_PLUGINS=N python -m bench.workers.startup_raw``. Opens,
one after another as the plugins' ``pre_start`` hooks do, what the N
connecting plugins open (same pool sizes, same first round trip), prints
``READY``, and closes everything on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import aio_pika
import asyncpg  # type: ignore[import-untyped, unused-ignore]
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.workers.startup_plugins import prefixes

# The plugins' defaults: MAX_IDLE_CONNECTIONS 5 of MAX_CONNECTIONS 10.
IDLE, MAX = 5, 10


async def _open(kind: str) -> Any:
    if kind == "redis":
        client = Redis(host="127.0.0.1", port=6379)
        await client.ping()
        return client.aclose
    if kind == "postgres_pgx":
        pool = await asyncpg.create_pool(
            host="127.0.0.1",
            port=5432,
            user="postgres",
            database="test",
            min_size=IDLE,
            max_size=MAX,
        )
        return pool.close
    if kind == "rabbitmq":
        connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672/")
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_exchange("startup", aio_pika.ExchangeType.TOPIC, durable=True)
        return connection.close
    engine = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        pool_size=IDLE,
        max_overflow=MAX - IDLE,
        pool_pre_ping=True,
    )
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return engine.dispose


async def main() -> None:
    count = int(os.environ.get("BENCH_STARTUP_PLUGINS", "0"))
    closers = [await _open(kind) for kind, _ in prefixes(count)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await stop.wait()
    for close in reversed(closers):
        await close()


if __name__ == "__main__":
    asyncio.run(main())
