"""RabbitMQ confirmed publish and consume through the plugin and through plain aio-pika.

Usage: ``python -m bench.workers.rabbitmq_ops measure DURATION`` prints
``{"publish": {"rates": {"plugin": msg/s, "raw": msg/s}, "blocks": {...}},
"consume": {...}}``, both sides in alternating blocks (``blocks``: each side's
rate per block or batch); ``profile plugin|raw DURATION`` runs one side in
profile windows; ``cleanup`` deletes what the runs declared.

Both sides publish the same persistent 64-byte messages (the plugin's
properties: type, app id, message id, timestamp) to the same durable topic
exchange on a channel with publisher confirms (a bound durable queue takes
them), and consume, in turn, from one durable queue with manual
acknowledgement and the same prefetch; consumption is timed from the first
message to the last.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode

from bench.servers.profiling import window
from bench.workers.timing import BLOCKS, Op, emit, paired, profiled
from lbtoolkit.plugins import rabbitmq
from lbtoolkit.testing import new_test_runtime, open_plugin

URL = "amqp://guest:guest@127.0.0.1:5672/"
SERVICE = "lbtoolkit-bench"  # the publishing service: its exchange
EVENT = "tick"
SINK = "lbtoolkit-bench.sink"  # where published messages go
# One queue for both sides, in turn, so the broker's side of consuming is alike;
# declared as the plugin declares its queues (with a dead-letter route).
QUEUE = "lbtoolkit-bench.consume"
DEAD_LETTER = f"{QUEUE}.dead-letter"
QUEUE_ARGUMENTS = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": DEAD_LETTER}
PREFETCH = 32
BATCH = 2000  # messages consumed per block
CONSUME_BLOCKS = 8  # blocks per side

BODY = b"x" * 64


class _Counter:
    """Counts handled messages; times the first to the last of a batch."""

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.finished = asyncio.Event()

    def hit(self) -> None:
        self.count += 1
        if self.count == 1:
            self.first = time.perf_counter()
        if self.count == BATCH:
            self.last = time.perf_counter()
            self.finished.set()

    async def wait(self) -> tuple[int, float]:
        await asyncio.wait_for(self.finished.wait(), 60)
        return BATCH - 1, self.last - self.first


class _Sides:
    """The plugin and a plain aio-pika connection, publishing and consuming alike."""

    def __init__(self, plugin: rabbitmq.Plugin, connection: Any, admin: Any) -> None:
        self.plugin = plugin
        self.connection = connection
        self.admin = admin
        self.exchange: Any = None

    async def open(self) -> None:
        channel = await self.connection.channel(publisher_confirms=True)
        self.exchange = await channel.declare_exchange(
            SERVICE, aio_pika.ExchangeType.TOPIC, durable=True
        )

    def publishers(self) -> dict[str, Op]:
        async def plugin(_: int) -> None:
            await self.plugin.publish(EVENT, BODY)

        async def raw(_: int) -> None:
            # The message the plugin sends, built by hand: the same bytes for the broker.
            message = aio_pika.Message(
                BODY,
                type=EVENT,
                app_id=SERVICE,
                message_id=os.urandom(16).hex(),
                timestamp=datetime.now(UTC),
                delivery_mode=DeliveryMode.PERSISTENT,
            )
            await self.exchange.publish(message, routing_key=EVENT)

        return {"plugin": plugin, "raw": raw}

    async def fill(self) -> None:
        exchange = self.admin.default_exchange
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(BODY, delivery_mode=DeliveryMode.PERSISTENT),
                    routing_key=QUEUE,
                )
                for _ in range(BATCH)
            )
        )

    async def consume(self, side: str) -> tuple[int, float]:
        """Fill the side's queue with a batch, then consume it; ``(messages, seconds)``."""
        await self.fill()
        counter = _Counter()
        if side == "plugin":

            async def handler(_: rabbitmq.Delivery) -> None:
                counter.hit()

            subscription = await self.plugin.subscribe(
                SERVICE, "consumed", handler, queue=QUEUE, prefetch=PREFETCH
            )
            result = await counter.wait()
            await subscription.unsubscribe()
            return result
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.declare_queue(QUEUE, durable=True, arguments=QUEUE_ARGUMENTS)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await message.ack()
            counter.hit()

        tag = await queue.consume(on_message)
        result = await counter.wait()
        await queue.cancel(tag)
        await channel.close()
        return result


async def _declare(admin: Any) -> None:
    exchange = await admin.declare_exchange(SERVICE, aio_pika.ExchangeType.TOPIC, durable=True)
    sink = await admin.declare_queue(SINK, durable=True)
    await sink.bind(exchange, routing_key=EVENT)
    queue = await admin.declare_queue(QUEUE, durable=True, arguments=QUEUE_ARGUMENTS)
    await queue.purge()


async def _cleanup(admin: Any) -> None:
    for queue in (SINK, QUEUE, DEAD_LETTER):
        await admin.queue_delete(queue)
    await admin.exchange_delete(SERVICE)


async def _measure(sides: _Sides, duration: float) -> dict[str, Any]:
    published = await paired(sides.publishers(), duration=duration, blocks=2 * BLOCKS)
    # The broker's pace varies from batch to batch by more than the difference
    # measured here: many short batches in turn, and each side's median rate.
    rates: dict[str, list[float]] = {"plugin": [], "raw": []}
    names = list(rates)
    for i in range(CONSUME_BLOCKS):
        for side in names if i % 2 == 0 else names[::-1]:
            count, elapsed = await sides.consume(side)
            rates[side].append(count / elapsed)
    consumed = {side: statistics.median(rates[side]) for side in names}
    return {"publish": published, "consume": {"rates": consumed, "blocks": rates}}


async def _profile(sides: _Sides, side: str, duration: float) -> dict[str, Any]:
    published = await profiled(sides.publishers()[side], duration=duration, label="publish")
    await sides.consume(side)  # warm-up
    result = (0, 1.0)
    with window("consume", lambda: result[0]):
        result = await sides.consume(side)
    return {"publish": published, "consume": result[0] / result[1]}


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
        connection = await aio_pika.connect_robust(URL)
        try:
            async with open_plugin(plugin):
                sides = _Sides(plugin, connection, admin)
                await sides.open()
                if mode == "measure":
                    result = await _measure(sides, float(args[0]))
                else:
                    result = await _profile(sides, args[0], float(args[1]))
        finally:
            await connection.close()
        await (await admin.declare_queue(SINK, durable=True)).purge()
    finally:
        await admin_connection.close()
    emit(result)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
