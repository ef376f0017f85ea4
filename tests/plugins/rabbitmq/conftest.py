"""Fixtures of the RabbitMQ tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import cast

import aio_pika
import pytest
import pytest_asyncio
from tests.plugins.rabbitmq.rabbitmq_support import BROKER, Names, PluginFactory, wait_broker_up

from lbtoolkit.plugins.rabbitmq import Options, RabbitMQPlugin, new_plugin
from lbtoolkit.testing import new_test_runtime


@pytest_asyncio.fixture
async def names() -> AsyncIterator[Names]:
    found = Names(uuid.uuid4().hex[:10])
    yield found
    await wait_broker_up()
    connection = await aio_pika.connect(BROKER, timeout=5)
    async with connection:
        channel = await connection.channel()
        # Each on its own: one failure must not leave the others behind.
        for queue in sorted(found.queues):
            with contextlib.suppress(ValueError, aio_pika.exceptions.AMQPError):
                await channel.queue_delete(queue, timeout=5)
        for exchange in sorted(found.exchanges):
            with contextlib.suppress(ValueError, aio_pika.exceptions.AMQPError):
                await channel.exchange_delete(exchange, timeout=5)


@pytest.fixture
def make_plugin() -> PluginFactory:
    """Build a plugin of service ``service`` reading only ``environ``."""

    def make(
        service: str,
        environ: Mapping[str, str] | None = None,
        prefix: str = "queue",
        env_prefix: str = "",
    ) -> RabbitMQPlugin:
        runtime = new_test_runtime(service, env_prefix=env_prefix, environ=environ or {})
        plugin = cast("RabbitMQPlugin", new_plugin(runtime, Options(prefix)))
        runtime.config.raise_for_issues()
        return plugin

    return make
