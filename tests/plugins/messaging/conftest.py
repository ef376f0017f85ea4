"""The contract's fixture: each test runs once per broker, on names of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from tests.plugins.messaging.brokers import Broker, NatsBroker, RabbitMQBroker


@pytest_asyncio.fixture(params=["rabbitmq", "nats"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """The shared broker the test runs against; what the test created is deleted after it."""
    found: Broker = RabbitMQBroker() if request.param == "rabbitmq" else NatsBroker()
    yield found
    await found.cleanup()
