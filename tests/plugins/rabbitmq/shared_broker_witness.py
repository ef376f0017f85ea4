"""Publish to and consume from the shared broker, on a queue of its own, until told to stop.

Run as ``python shared_broker_witness.py AMQP_URL QUEUE``. It answers commands
read from stdin, one per line, with one JSON line on stdout,
``{"published": N, "consumed": N, "errors": [...]}``: ``count`` gives the
counts so far; ``stop`` stops publishing, waits (bounded) for the messages
still on their way, answers and exits.

Its connection is not a robust one, so a broker restart, a dropped connection
or a refused publish all show up in ``errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

# A steady trickle, not a flood: the shared broker serves other tests too.
PUBLISH_PAUSE = 0.005
DRAIN_TIMEOUT = 10.0


class Witness:
    def __init__(self) -> None:
        self.published = 0
        self.consumed = 0
        self.errors: list[str] = []
        self.running = True
        self.drained = asyncio.Event()

    def answer(self) -> None:
        report = {"published": self.published, "consumed": self.consumed, "errors": self.errors}
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()

    def on_close(self, _: object, error: BaseException | None) -> None:
        if self.running:
            self.errors.append(f"connection closed: {error!r}")

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        # One publisher, one queue, one consumer: messages come in order, once each.
        if message.body != b"%d" % self.consumed:
            self.errors.append(f"message {self.consumed}: got {message.body!r}")
        self.consumed += 1
        self.check_drained()

    def check_drained(self) -> None:
        if not self.running and self.consumed >= self.published:
            self.drained.set()


async def publish(witness: Witness, channel: aio_pika.abc.AbstractChannel, queue: str) -> None:
    while witness.running:
        try:
            message = aio_pika.Message(b"%d" % witness.published)
            await channel.default_exchange.publish(message, routing_key=queue, timeout=5)
        except Exception as error:  # noqa: BLE001 - every failure is reported, not raised
            witness.errors.append(f"publish failed: {error!r}")
            return
        witness.published += 1
        await asyncio.sleep(PUBLISH_PAUSE)


async def main(url: str, queue_name: str) -> None:
    witness = Witness()
    connection = await aio_pika.connect(url, timeout=5)
    connection.close_callbacks.add(witness.on_close)
    channel = await connection.channel(publisher_confirms=True)
    # Exclusive: the broker deletes it with the connection.
    queue = await channel.declare_queue(queue_name, exclusive=True)
    await queue.consume(witness.on_message, no_ack=True)
    publisher = asyncio.create_task(publish(witness, channel, queue_name))
    while command := (await asyncio.to_thread(sys.stdin.readline)).strip():
        if command == "count":
            witness.answer()
        elif command == "stop":
            break
    witness.running = False
    await publisher
    witness.check_drained()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(witness.drained.wait(), DRAIN_TIMEOUT)
    witness.answer()
    with contextlib.suppress(*CONNECTION_EXCEPTIONS):  # already closed after a fault
        await connection.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
