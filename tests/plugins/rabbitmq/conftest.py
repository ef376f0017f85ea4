"""Fixtures of the RabbitMQ tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import cast

import aio_pika
import pytest
import pytest_asyncio
from tests.plugins.rabbitmq.rabbitmq_support import (
    BROKER,
    Names,
    PluginFactory,
    SharedBrokerWitness,
    open_shared_broker_witness,
)
from tests.support.servers import PrivateRabbitMQ

from lbtoolkit.plugins.rabbitmq import Options, RabbitMQPlugin, new_plugin
from lbtoolkit.testing import new_test_runtime


@pytest_asyncio.fixture
async def names() -> AsyncIterator[Names]:
    found = Names(uuid.uuid4().hex[:10])
    yield found
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


@pytest.fixture
def private_broker() -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node of this test's own, which the test may restart, stop or disconnect."""
    with PrivateRabbitMQ() as broker:
        yield broker


@pytest_asyncio.fixture
async def shared_broker_witness() -> AsyncIterator[SharedBrokerWitness]:
    """Traffic on the shared broker, in another process, for the whole test."""
    async with open_shared_broker_witness() as witness:
        yield witness
