"""The rabbitmq plugin registers what "broker unreachable" looks like in aio-pika."""

from __future__ import annotations

import uuid

from aio_pika.exceptions import AMQPConnectionError, ChannelInvalidStateError, ChannelNotFoundEntity

from lbtoolkit.plugins.rabbitmq import Options, new_plugin
from lbtoolkit.testing import new_test_runtime


def test_connection_errors_are_the_plugins_outage() -> None:
    runtime = new_test_runtime(f"svc-{uuid.uuid4().hex[:8]}")
    new_plugin(runtime, Options("queue"))
    outages = runtime.tools.outages
    [registered] = outages.registered()
    assert registered.message == 'plugin "queue" (rabbitmq) is unavailable'
    assert outages.classify(AMQPConnectionError("connection lost")) is registered
    assert outages.classify(ChannelInvalidStateError("channel closed")) is registered
    # A missing exchange is the service's mistake, not an outage.
    assert outages.classify(ChannelNotFoundEntity("no exchange 'x'")) is None
    assert outages.classify(TimeoutError()) is None
