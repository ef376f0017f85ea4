"""Fixtures of the outbox tests: a schema of its own per test in the ``test`` database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest_asyncio
from tests.plugins.outbox.outbox_support import BROKER, PG_DATABASE, PG_HOST, PG_PORT, unique


@pytest_asyncio.fixture
async def admin() -> AsyncIterator[Any]:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database=PG_DATABASE)
    try:
        yield conn
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def schema(admin: Any) -> AsyncIterator[str]:
    """A fresh schema, dropped with everything in it at the end."""
    name = unique("s")
    await admin.execute(f'CREATE SCHEMA "{name}"')
    # The tests' own queries on ``admin`` read this schema's tables.
    await admin.execute(f'SET search_path TO "{name}"')
    try:
        yield name
    finally:
        await admin.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest_asyncio.fixture
async def services() -> AsyncIterator[list[str]]:
    """Service names a test uses on the shared broker; their exchanges and queues go at the end."""
    names: list[str] = []
    yield names
    connection = await aio_pika.connect(BROKER, timeout=5)
    async with connection:
        channel = await connection.channel()
        for publisher in names:
            for consumer in names:
                for event in ("created", "marker", "changed"):
                    base = f"{consumer}:{publisher}:{event}"
                    for queue in (base, f"{base}.dead-letter"):
                        with contextlib.suppress(ValueError, aio_pika.exceptions.AMQPError):
                            await channel.queue_delete(queue, timeout=5)
        for name in names:
            for exchange in (name, f"{name}.dead-letter", f"{name}.retry"):
                with contextlib.suppress(ValueError, aio_pika.exceptions.AMQPError):
                    await channel.exchange_delete(exchange, timeout=5)
