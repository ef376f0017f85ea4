"""At-least-once delivery in volume (10,000 messages at full scale), with and without an outage.

Outages happen to a private node; meanwhile a witness process keeps traffic
going on the shared broker and must see no fault.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from tests.plugins.rabbitmq.rabbitmq_support import (
    Names,
    PluginFactory,
    SharedBrokerWitness,
    assert_undisturbed,
    private_broker_environ,
    wait_for,
)
from tests.support.scale import scaled
from tests.support.servers import START_TIMEOUT, PrivateRabbitMQ

from lbtoolkit.plugins.rabbitmq import Delivery, RabbitMQPlugin
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

TOTAL = scaled(quick=2_000, full=10_000)
# Publishes in flight at once: enough to keep the broker busy, few enough to
# keep memory and the confirm backlog small.
CONCURRENCY = 200
# Both ends reconnect fast, so an outage costs little test time.
FAST = {"QUEUE_RECONNECT_INTERVAL": "200ms", "QUEUE_PREFETCH": "200"}


class Tally:
    """What the subscriber saw (every payload and how often), and what the publisher did."""

    def __init__(self) -> None:
        self.counts: collections.Counter[int] = collections.Counter()
        self.published = 0
        self.published_when_disrupted: int | None = None
        self.reconnects = 0

    async def handler(self, delivery: Delivery) -> None:
        self.counts[int(delivery.data)] += 1

    def count_reconnect(self) -> None:
        self.reconnects += 1

    @property
    def duplicates(self) -> int:
        return sum(self.counts.values()) - len(self.counts)


@dataclass(frozen=True)
class Disruption:
    """What breaks the broker (``down``, blocking) and what mends it (``up``, if anything)."""

    down: Callable[[], object]
    up: Callable[[], object] | None = None


async def publish_all(
    publisher: RabbitMQPlugin, tally: Tally, disruption: Disruption | None = None
) -> None:
    """Publish ``0..TOTAL-1``, with ``disruption`` a third of the way.

    Publishing pauses until ``down`` has returned, so the outage always finds
    two thirds of the messages still to send; they are published while ``up``
    runs in the background.
    """
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(TOTAL):
        queue.put_nowait(i)
    background: list[asyncio.Task[object]] = []
    publishing = asyncio.Event()
    publishing.set()

    async def disrupt(disruption: Disruption) -> None:
        await asyncio.to_thread(disruption.down)
        tally.published_when_disrupted = tally.published
        if disruption.up is not None:
            background.append(asyncio.create_task(asyncio.to_thread(disruption.up)))
        publishing.set()

    async def worker() -> None:
        while not queue.empty():
            await publishing.wait()
            i = queue.get_nowait()
            if i == TOTAL // 3 and disruption is not None:
                publishing.clear()
                background.append(asyncio.create_task(disrupt(disruption)))
            await publisher.publish("tick", b"%d" % i)
            tally.published += 1

    async with asyncio.timeout(120):
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        while background:
            await background.pop(0)


async def run(
    names: Names,
    make_plugin: PluginFactory,
    broker: PrivateRabbitMQ | None = None,
    disruption: Disruption | None = None,
) -> Tally:
    """Publish and receive ``TOTAL`` messages on ``broker`` (default: the shared one)."""
    publisher_name, subscriber_name = names.service("pub"), names.service("sub")
    names.queue(subscriber_name, publisher_name, "tick")
    environ = FAST if broker is None else FAST | private_broker_environ(broker)
    tally = Tally()
    async with (
        open_plugin(make_plugin(publisher_name, environ)) as publisher,
        open_plugin(make_plugin(subscriber_name, environ)) as subscriber,
    ):
        await subscriber.subscribe(publisher_name, "tick", tally.handler)
        for plugin in (publisher, subscriber):
            assert plugin._connection is not None
            plugin._connection.reconnect_callbacks.add(lambda _: tally.count_reconnect())
        await publish_all(publisher, tally, disruption)
        await wait_for(lambda: len(tally.counts) == TOTAL, 60, "messages were lost", step=0.05)
        # Redeliveries of unacknowledged messages may trail the last new one.
        await asyncio.sleep(0.2)
    assert set(tally.counts) == set(range(TOTAL))
    return tally


def assert_disrupted_midway(tally: Tally) -> None:
    """The outage hit while messages were still being published, and both ends came back."""
    assert tally.published_when_disrupted is not None
    # About a third: publishes still in flight when the broker went down wait for its return.
    assert TOTAL // 4 <= tally.published_when_disrupted < TOTAL
    assert tally.reconnects >= 2  # publisher and subscriber


async def test_every_message_arrives_exactly_once(names: Names, make_plugin: PluginFactory) -> None:
    tally = await run(names, make_plugin)
    assert tally.duplicates == 0
    assert tally.reconnects == 0


async def test_none_is_lost_across_a_broker_restart(
    names: Names,
    make_plugin: PluginFactory,
    private_broker: PrivateRabbitMQ,
    shared_broker_witness: SharedBrokerWitness,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    caplog.set_level(logging.CRITICAL)  # the outage is noisy by design

    restart = Disruption(
        down=lambda: private_broker.ctl("stop_app"),
        up=lambda: private_broker.ctl("start_app", timeout=START_TIMEOUT),
    )
    tally = await run(names, make_plugin, private_broker, restart)
    assert_disrupted_midway(tally)
    record_property("duplicates", tally.duplicates)  # allowed: at-least-once
    assert_undisturbed(await shared_broker_witness.finish())


async def test_none_is_lost_when_the_broker_drops_every_connection(
    names: Names,
    make_plugin: PluginFactory,
    private_broker: PrivateRabbitMQ,
    shared_broker_witness: SharedBrokerWitness,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    caplog.set_level(logging.CRITICAL)

    reason = "test: dropping every connection"
    drop = Disruption(down=lambda: private_broker.ctl("close_all_connections", reason))
    tally = await run(names, make_plugin, private_broker, drop)
    assert_disrupted_midway(tally)
    record_property("duplicates", tally.duplicates)  # allowed: at-least-once
    assert_undisturbed(await shared_broker_witness.finish())


async def test_readiness_fails_during_an_outage_and_recovers(
    names: Names,
    make_plugin: PluginFactory,
    private_broker: PrivateRabbitMQ,
    shared_broker_witness: SharedBrokerWitness,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.CRITICAL)
    plugin = make_plugin(names.service("ready"), FAST | private_broker_environ(private_broker))
    probes = plugin._runtime.tools.probes
    results: list[str] = []

    async def readiness() -> str:
        return (await probes.run("readiness"))["queue"]

    async with open_plugin(plugin):
        assert await readiness() == "ok"
        await asyncio.to_thread(private_broker.stop)
        for _ in range(100):
            results.append(await readiness())
            if results[-1] != "ok":
                break
            await asyncio.sleep(0.05)
        assert results[-1] != "ok"
        assert "ConnectionError" in results[-1] or "RabbitMQNotConnectedError" in results[-1]
        await asyncio.to_thread(private_broker.start)
        for _ in range(200):
            results.append(await readiness())
            if results[-1] == "ok":
                break
            await asyncio.sleep(0.05)
        assert results[-1] == "ok"
    assert_undisturbed(await shared_broker_witness.finish())
