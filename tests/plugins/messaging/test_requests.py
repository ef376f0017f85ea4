"""Consumers as requests, with either broker: a request scope, a span, metrics and a deadline.

Each delivery runs in a dependency-injection request scope of its own
(``await delivery.get(T)``), inside a consumer span linked to the producer's,
counted in ``{namespace}_messaging_*``; a message past its producer's deadline
is dead-lettered without running the handler.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from dishka import Scope
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.plugins.messaging.brokers import Broker, DeadLetter
from tests.plugins.messaging.test_contract import WAIT, wait_for

from lbtoolkit.plugins._messaging import (
    DEADLINE_HEADER,
    Delivery,
    DeliveryScopeError,
    within_deadline,
)
from lbtoolkit.runtime import Runtime
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration


class Session:
    """A request-scoped resource: built once per delivery, closed after its handler."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False


async def _dead_letters(broker: Broker, sink: str, source: str, event: str) -> list[DeadLetter]:
    """What the subscription gave up on, polled for at most ``WAIT`` seconds."""
    found: list[DeadLetter] = []
    for _ in range(int(WAIT / 0.05)):
        found = await broker.dead_letters(sink, source, event)
        if found:
            break
        await asyncio.sleep(0.05)
    return found


def _metric(runtime: Runtime, name: str, labels: dict[str, str]) -> float:
    value = runtime.tools.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_each_delivery_gets_its_own_request_scope_closed_after_the_handler(
    broker: Broker,
) -> None:
    source, sink = broker.service("src"), broker.service("sink")
    sessions: list[Session] = []
    seen: list[tuple[int, bool, bool]] = []

    async def open_session() -> AsyncIterator[Session]:
        session = Session(len(sessions) + 1)
        sessions.append(session)
        yield session
        session.closed = True

    def setup(runtime: Runtime) -> None:
        runtime.injector.provide(open_session, scope=Scope.REQUEST)
        runtime.injector.build()

    async def handler(delivery: Delivery) -> None:
        first = await delivery.get(Session)
        again = await delivery.get(Session)
        seen.append((first.number, first is again, first.closed))

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink, setup=setup)) as subscriber,
    ):
        await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"1")
        await publisher.publish("job", b"2")
        await wait_for(lambda: len(seen) == 2, "the deliveries did not arrive")
        await wait_for(lambda: all(s.closed for s in sessions), "a scope was not closed")
    # One session per delivery, the same one within it, open while the handler ran.
    assert seen == [(1, True, False), (2, True, False)]
    assert [s.closed for s in sessions] == [True, True]


async def test_a_delivery_without_a_container_says_how_to_get_one(broker: Broker) -> None:
    source, sink = broker.service("src"), broker.service("sink")
    errors: list[BaseException] = []

    async def handler(delivery: Delivery) -> None:
        try:
            await delivery.get(Session)
        except DeliveryScopeError as error:
            errors.append(error)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink)) as subscriber,
    ):
        await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"x")
        await wait_for(lambda: len(errors) == 1, "the delivery did not arrive")
    text = str(errors[0])
    assert f"{source}/job" in text
    assert "Session" in text
    assert "runtime.injector.build()" in text


async def test_the_consumer_span_continues_the_producer_s_trace(broker: Broker) -> None:
    source, sink = broker.service("src"), broker.service("sink")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    received: list[Delivery] = []

    def traced(runtime: Runtime) -> None:
        runtime.tools.traces.use_provider(provider)

    async def handler(delivery: Delivery) -> None:
        received.append(delivery)

    async with (
        open_plugin(broker.make(source, setup=traced)) as publisher,
        open_plugin(broker.make(sink, setup=traced)) as subscriber,
    ):
        await subscriber.subscribe(source, "user.created", handler)
        await publisher.publish("user.created", b"{}", {"tenant": "acme"})
        await wait_for(lambda: len(received) == 1, "the event did not arrive")
        await wait_for(
            lambda: any(s.kind is SpanKind.CONSUMER for s in exporter.get_finished_spans()),
            "the consumer span did not end",
        )
    spans = exporter.get_finished_spans()
    [producer] = [s for s in spans if s.kind is SpanKind.PRODUCER]
    [consumer] = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert producer.context is not None
    assert consumer.context is not None
    assert consumer.context.trace_id == producer.context.trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert [link.context.span_id for link in consumer.links] == [producer.context.span_id]
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.system"] == broker.name
    assert received[0].headers["tenant"] == "acme"
    assert "traceparent" in received[0].headers


async def test_a_message_past_its_deadline_is_dead_lettered_unhandled_and_counted(
    broker: Broker,
) -> None:
    source, sink = broker.service("src"), broker.service("sink")
    runtimes: list[Runtime] = []
    handled: list[bytes] = []

    async def handler(delivery: Delivery) -> None:
        handled.append(delivery.data)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink, setup=runtimes.append)) as subscriber,
    ):
        await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"stale", {DEADLINE_HEADER: f"{time.time() - 1:.6f}"})
        with within_deadline(60):
            await publisher.publish("job", b"fresh")
        await wait_for(lambda: handled == [b"fresh"], f"handled {handled}")
        dead = await _dead_letters(broker, sink, source, "job")
    [letter] = dead
    assert letter.data == b"stale"
    assert letter.attempts == 0  # given up before any handler run
    assert letter.error is not None
    assert "deadline" in letter.error
    assert handled == [b"fresh"]
    labels = {"broker": broker.name, "publisher": source, "event": "job"}
    [runtime] = runtimes
    expired = _metric(
        runtime,
        f"{runtime.tools.metrics.namespace}_messaging_requests_total",
        {**labels, "code": "expired"},
    )
    assert expired == 1


async def test_a_handler_s_publish_carries_its_message_s_deadline(broker: Broker) -> None:
    source, relay, sink = broker.service("src"), broker.service("relay"), broker.service("sink")
    arrived: list[Delivery] = []
    relay_plugin = broker.make(relay)

    async def forward(delivery: Delivery) -> None:
        await relay_plugin.publish("next", delivery.data)

    async def collect(delivery: Delivery) -> None:
        arrived.append(delivery)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(relay_plugin),
        open_plugin(broker.make(sink)) as collector,
    ):
        await collector.subscribe(relay, "next", collect)
        await relay_plugin.subscribe(source, "job", forward)
        with within_deadline(120) as deadline:
            await publisher.publish("job", b"go")
        await wait_for(lambda: len(arrived) == 1, "the relayed event did not arrive")
    assert arrived[0].deadline == pytest.approx(deadline, abs=1e-5)
    assert float(str(arrived[0].headers[DEADLINE_HEADER])) == pytest.approx(deadline, abs=1e-5)


async def test_consumed_messages_are_counted_by_outcome_and_timed(broker: Broker) -> None:
    source, sink = broker.service("src"), broker.service("sink")
    runtimes: list[Runtime] = []
    seen: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)
        if delivery.data == b"bad" and delivery.attempt == 1:
            msg = "first attempt fails"
            raise RuntimeError(msg)

    async with (
        open_plugin(broker.make(source)) as publisher,
        open_plugin(broker.make(sink, setup=runtimes.append)) as subscriber,
    ):
        await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"good")
        await publisher.publish("job", b"bad")
        await wait_for(lambda: len(seen) == 3, f"expected three runs, saw {len(seen)}")
        [runtime] = runtimes
        prefix = f"{runtime.tools.metrics.namespace}_messaging"
        labels = {"broker": broker.name, "publisher": source, "event": "job"}

        def count(code: str) -> float:
            return _metric(runtime, f"{prefix}_requests_total", {**labels, "code": code})

        await wait_for(lambda: count("ok") == 2, "the successes were not counted")
        assert count("error") == 1
        assert count("expired") == 0
        assert _metric(runtime, f"{prefix}_request_duration_seconds_count", labels) == 3
        assert _metric(runtime, f"{prefix}_requests_in_flight", labels) == 0
