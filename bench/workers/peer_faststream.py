"""RabbitMQ confirmed publish and consume through the rabbitmq plugin and through FastStream.

Usage: ``python -m bench.workers.peer_faststream measure DURATION CONSUME_BATCHES``
prints ``{"publish": {"rates": {"plugin": msg/s, "faststream": msg/s}, "blocks":
{...}}, "consume": {...}}`` like ``bench.workers.rabbitmq_ops`` (whose topology,
messages and batches it shares); ``cleanup`` deletes what the runs declared.

FastStream publishes with its broker's ``publish`` on its default channel
(publisher confirms on), persistent, to the same durable topic exchange, with
the properties the plugin sets (type, app id, timestamp; FastStream adds its
own ids). It consumes, in turn with the plugin, from the same durable queue
through a subscriber with prefetch 32 and its default acknowledgement (ack
after the handler returns).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from datetime import UTC, datetime
from typing import Any, cast

import aio_pika
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue

from bench.workers.rabbitmq_ops import (
    EVENT,
    PREFETCH,
    QUEUE,
    QUEUE_ARGUMENTS,
    SERVICE,
    SINK,
    URL,
    _cleanup,
    _Counter,
    _declare,
    _Sides,
)
from bench.workers.timing import BLOCKS, Op, emit, paired
from lbtoolkit.plugins import rabbitmq
from lbtoolkit.testing import new_test_runtime, open_plugin

EXCHANGE = RabbitExchange(SERVICE, type=ExchangeType.TOPIC, durable=True)


class _FastStream:
    """A started FastStream broker: one publisher call, one subscriber started per batch."""

    def __init__(self, broker: RabbitBroker) -> None:
        self.broker = broker
        self.counter = _Counter()
        self.subscriber = broker.subscriber(
            RabbitQueue(QUEUE, durable=True, arguments=cast("Any", QUEUE_ARGUMENTS)),
            channel=Channel(prefetch_count=PREFETCH),
        )

        @self.subscriber
        async def on_message(body: bytes) -> None:
            del body
            self.counter.hit()

    def publisher(self) -> Op:
        async def publish(_: int) -> None:
            await self.broker.publish(
                b"x" * 64,
                exchange=EXCHANGE,
                routing_key=EVENT,
                persist=True,
                message_type=EVENT,
                timestamp=datetime.now(UTC),
            )

        return publish

    async def consume(self, sides: _Sides) -> tuple[int, float]:
        await sides.fill()
        self.counter = _Counter()
        await self.subscriber.start()
        try:
            return await self.counter.wait()
        finally:
            await self.subscriber.stop()


async def _measure(
    sides: _Sides, faststream: _FastStream, duration: float, batches: int
) -> dict[str, Any]:
    publishers = {"plugin": sides.publishers()["plugin"], "faststream": faststream.publisher()}
    published = await paired(publishers, duration=duration, blocks=2 * BLOCKS)
    rates: dict[str, list[float]] = {"plugin": [], "faststream": []}
    names = list(rates)
    for i in range(batches):
        for side in names if i % 2 == 0 else names[::-1]:
            if side == "plugin":
                count, elapsed = await sides.consume("plugin")
            else:
                count, elapsed = await faststream.consume(sides)
            rates[side].append(count / elapsed)
    consumed = {side: statistics.median(rates[side]) for side in names}
    return {"publish": published, "consume": {"rates": consumed, "blocks": rates}}


async def main(mode: str, *args: str) -> None:
    admin_connection = await aio_pika.connect_robust(URL)
    try:
        admin = await admin_connection.channel(publisher_confirms=True)
        if mode == "cleanup":
            await _cleanup(admin)
            emit({})
            return
        await _declare(admin)
        runtime = new_test_runtime(SERVICE, environ={"MQ_DSN": URL})
        plugin = rabbitmq.new_plugin(runtime, rabbitmq.Options(name="mq"))
        runtime.config.raise_for_issues()
        broker = RabbitBroker(URL, app_id=SERVICE, logger=None)
        faststream = _FastStream(broker)
        await broker.start()
        # The broker starts its subscribers; batches start and stop this one themselves.
        await faststream.subscriber.stop()
        try:
            async with open_plugin(plugin):
                # The plugin's side of _Sides only: the raw aio-pika side is not used here.
                sides = _Sides(plugin, None, admin)
                result = await _measure(sides, faststream, float(args[0]), int(args[1]))
        finally:
            await broker.stop()
        await (await admin.declare_queue(SINK, durable=True)).purge()
    finally:
        await admin_connection.close()
    emit(result)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
