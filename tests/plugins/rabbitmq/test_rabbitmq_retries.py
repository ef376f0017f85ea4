"""Delayed retries held by the broker: per-step delay queues, then the dead-letter queue.

Tolerance of the measured delays: a message never comes back before its
delay (the broker holds it that long at least), so each gap is checked
against the configured step from below with 5ms for clock granularity; from
above it is only bounded loosely (2s), since a loaded machine may be slow to
consume. The broker's own record (``x-death``: which delay queue expired the
message, with which expiration) is checked exactly.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import cast

import aio_pika
import pytest
from tests.plugins.rabbitmq.rabbitmq_support import BROKER, Names, PluginFactory, wait_for

from lbtoolkit.plugins.rabbitmq import Delivery
from lbtoolkit.plugins.rabbitmq._delivery import ATTEMPTS_HEADER, ERROR_HEADER, RETRIES_HEADER
from lbtoolkit.plugins.rabbitmq._subscription import RetryPolicy, delay_queue
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

EARLY = 0.005  # clock granularity between two time.time() readings
LATE = 2.0  # a loose bound from above: the point is the order of magnitude


def test_the_delay_grows_by_the_factor_up_to_the_cap_and_jitter_only_lengthens() -> None:
    policy = RetryPolicy(limit=5, first_delay=0.2, factor=2, longest_delay=0.5, jitter=0)
    steps = [(200, 200), (400, 400), (500, 500), (500, 500)]
    assert [policy.delay_ms(n) for n in range(1, 5)] == steps
    jittery = RetryPolicy(limit=5, first_delay=1, factor=2, longest_delay=60, jitter=0.5)
    for attempt in range(1, 5):
        step, delay = jittery.delay_ms(attempt)
        assert step == 1000 * 2 ** (attempt - 1)
        assert step <= delay <= step * 1.5
    immediate = RetryPolicy(limit=5, first_delay=0, factor=2, longest_delay=0, jitter=0.5)
    assert immediate.delay_ms(3) == (0, 0)


async def test_a_failed_message_waits_each_delay_step_on_the_broker_then_is_dead_lettered(
    names: Names, make_plugin: PluginFactory
) -> None:
    source, worker = names.service("src"), names.service("worker")
    queue = names.queue(worker, source, "job")
    steps = (200, 400, 500)
    names.queues.update(delay_queue(queue, step) for step in steps)
    seen: list[tuple[float, Delivery]] = []

    async def handler(delivery: Delivery) -> None:
        seen.append((time.time(), delivery))
        msg = f"boom {delivery.attempt}"
        raise RuntimeError(msg)

    environ = {
        "QUEUE_DSN": BROKER,
        "QUEUE_RETRY_LIMIT": "3",
        "QUEUE_RETRY_DELAY": "200ms",
        "QUEUE_BACKOFF": "2",
        "QUEUE_RETRY_MAX_DELAY": "500ms",
        "QUEUE_RETRY_JITTER": "0",
    }
    async with (
        open_plugin(make_plugin(source, {"QUEUE_DSN": BROKER})) as publisher,
        open_plugin(make_plugin(worker, environ)) as subscriber,
    ):
        await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"poison", {"trace": "t-1"})
        await wait_for(lambda: len(seen) == 4, 15, f"expected four attempts, saw {len(seen)}")
        letter = await _one_dead_letter(f"{queue}.dead-letter")

    times = [at for at, _ in seen]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for gap, step in zip(gaps, steps, strict=True):
        assert step / 1000 - EARLY <= gap <= step / 1000 + LATE, (gaps, steps)
    deliveries = [delivery for _, delivery in seen]
    assert [d.attempt for d in deliveries] == [1, 2, 3, 4]
    assert [d.last_error for d in deliveries] == [
        None,
        "RuntimeError: boom 1",
        "RuntimeError: boom 2",
        "RuntimeError: boom 3",
    ]
    # The handler sees the publisher's headers only, not the broker's x-death record.
    assert all(dict(d.headers) == {"trace": "t-1"} for d in deliveries)

    assert letter.body == b"poison"
    headers = dict(letter.headers or {})
    assert headers["trace"] == "t-1"
    assert headers[ATTEMPTS_HEADER] == 4
    assert headers[RETRIES_HEADER] == 3
    assert headers[ERROR_HEADER] == "RuntimeError: boom 4"
    # The broker's own record: each delay queue expired the message once, at its step.
    deaths = cast("list[dict[str, object]]", headers["x-death"])
    by_queue = {str(death["queue"]): death for death in deaths}
    assert set(by_queue) == {delay_queue(queue, step) for step in steps}
    for step in steps:
        death = by_queue[delay_queue(queue, step)]
        assert (death["reason"], death["count"]) == ("expired", 1)
        assert str(death["original-expiration"]) == str(step)


async def _one_dead_letter(queue: str) -> aio_pika.abc.AbstractIncomingMessage:
    """The first message of ``queue``, polled for at most five seconds."""
    connection = await aio_pika.connect(BROKER, timeout=5)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        for _ in range(250):
            message = await declared.get(no_ack=True, fail=False)
            if message is not None:
                return message
            await asyncio.sleep(0.02)
    pytest.fail(f"no dead letter in {queue!r}")
