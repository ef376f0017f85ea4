"""The messaging contract: what a service may rely on with either broker plugin.

Every test runs against the shared RabbitMQ and the shared NATS (JetStream),
with services (so exchanges, queues, streams and consumers) of its own. A
handler written for one broker behaves the same with the other.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

import pytest
from tests.plugins.messaging.brokers import Broker, DeadLetter, Subscription

from lbtoolkit.plugins._messaging import Delivery
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

WAIT = 15.0


async def wait_for(condition: Callable[[], bool], message: str, timeout: float = WAIT) -> None:
    """Poll ``condition`` until true; fail with ``message`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s: {message}")
        await asyncio.sleep(0.02)


async def settled(broker: Broker, subscription: Subscription, timeout: float = WAIT) -> int:
    """Messages of ``subscription`` still unacknowledged once acks had ``timeout`` to land."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = await broker.unsettled(subscription)
        if not left or loop.time() > deadline:
            return left
        await asyncio.sleep(0.05)


async def test_a_published_event_arrives_with_its_payload_and_headers(broker: Broker) -> None:
    source, sink = broker.service("users"), broker.service("mailer")
    received: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        received.append(delivery)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink)) as subscriber,
    ):
        subscription = await subscriber.subscribe(source, "user.created", handler)
        assert subscription.consuming
        await publisher.publish("user.created", b'{"id": 7}', {"trace": "t-1", "tenant": "acme"})
        await wait_for(lambda: len(received) == 1, "the event did not arrive")
    [delivery] = received
    assert delivery.data == b'{"id": 7}'
    assert (delivery.event, delivery.service) == ("user.created", source)
    assert dict(delivery.headers) == {"trace": "t-1", "tenant": "acme"}
    assert delivery.message_id
    assert (delivery.attempt, delivery.redelivered) == (1, False)


async def test_a_payload_handler_gets_the_bytes_as_published(broker: Broker) -> None:
    source, sink = broker.service("src"), broker.service("sink")
    received: list[bytes] = []

    async def handler(data: bytes) -> None:
        received.append(data)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink)) as subscriber,
    ):
        await subscriber.subscribe(source, "blob", handler)  # type: ignore[arg-type]
        await publisher.publish("blob", bytes(range(256)))
        await wait_for(lambda: len(received) == 1, "the payload did not arrive")
    assert received == [bytes(range(256))]


async def test_a_handler_that_raises_sees_the_message_again_with_the_next_attempt(
    broker: Broker,
) -> None:
    source, sink = broker.service("src"), broker.service("worker")
    seen: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)
        if delivery.attempt < 3:
            msg = f"not yet: attempt {delivery.attempt}"
            raise RuntimeError(msg)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink, attempts=4)) as subscriber,
    ):
        subscription = await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"flaky", {"k": "v"})
        await wait_for(lambda: len(seen) == 3, f"expected three attempts, saw {seen}")
        unsettled = await settled(broker, subscription)
    assert [d.attempt for d in seen] == [1, 2, 3]
    assert {d.data for d in seen} == {b"flaky"}
    assert len({d.message_id for d in seen}) == 1
    assert all(dict(d.headers) == {"k": "v"} for d in seen)
    assert unsettled == 0
    assert await broker.dead_letters(sink, source, "job") == []


async def test_a_message_failing_every_attempt_is_dead_lettered_with_its_headers(
    broker: Broker,
) -> None:
    source, sink = broker.service("src"), broker.service("worker")
    attempts: dict[bytes, list[int]] = collections.defaultdict(list)

    async def handler(delivery: Delivery) -> None:
        attempts[delivery.data].append(delivery.attempt)
        if delivery.data == b"poison":
            msg = "boom: cannot handle poison"
            raise ValueError(msg)

    dead: list[DeadLetter] = []
    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink, attempts=3)) as subscriber,
    ):
        subscription = await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"poison", {"trace": "t-9"})
        await publisher.publish("job", b"fine")
        await wait_for(
            lambda: attempts[b"poison"] == [1, 2, 3] and attempts[b"fine"] == [1],
            f"unexpected attempts {dict(attempts)}",
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not dead and loop.time() < deadline:
            dead = await broker.dead_letters(sink, source, "job")
        unsettled = await settled(broker, subscription)
    [letter] = dead
    assert letter.data == b"poison"
    assert letter.headers["trace"] == "t-9"
    assert letter.attempts == 3
    assert unsettled == 0  # the original is settled, not left to come again
    assert attempts[b"poison"] == [1, 2, 3]


async def test_one_publisher_s_events_arrive_in_the_order_published(broker: Broker) -> None:
    source, sink = broker.service("src"), broker.service("sink")
    received: list[int] = []
    total = 300

    async def handler(delivery: Delivery) -> None:
        received.append(int(delivery.data))

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink, prefetch=1)) as subscriber,
    ):
        await subscriber.subscribe(source, "tick", handler)
        for i in range(total):
            await publisher.publish("tick", b"%d" % i)
        await wait_for(lambda: len(received) >= total, f"{len(received)} of {total} arrived")
    assert received == list(range(total))


@pytest.mark.parametrize("prefetch", [1, 4])
async def test_stop_lets_running_handlers_finish_and_settle_their_message(
    broker: Broker, prefetch: int
) -> None:
    source, worker_name, sink = (
        broker.service("src"),
        broker.service("worker"),
        broker.service("sink"),
    )
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bytes] = []
    collected: list[bytes] = []
    worker = broker.make(worker_name, prefetch=prefetch)

    async def work(delivery: Delivery) -> None:
        started.set()
        await release.wait()
        # Still connected while draining: a handler may publish what it produced.
        await worker.publish("done", delivery.data)
        finished.append(delivery.data)

    async def collect(delivery: Delivery) -> None:
        collected.append(delivery.data)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink)) as collector,
    ):
        await collector.subscribe(worker_name, "done", collect)
        await worker.pre_start()
        subscription = await worker.subscribe(source, "job", work)
        await worker.on_start()
        await publisher.publish("job", b"42")
        await asyncio.wait_for(started.wait(), WAIT)
        stopping = asyncio.create_task(worker.on_stop())
        await asyncio.sleep(0.2)
        assert not stopping.done()  # waiting for the handler
        release.set()
        await asyncio.wait_for(stopping, WAIT)
        assert finished == [b"42"]
        await wait_for(lambda: collected == [b"42"], "the handler's publish did not arrive")
        assert await settled(broker, subscription) == 0  # acknowledged before closing
