"""The RabbitMQ plugin against the real broker: round trips, failures, semantics."""

from __future__ import annotations

import asyncio
import collections
import contextlib

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode
from tests.plugins.rabbitmq.rabbitmq_support import (
    BROKER,
    Names,
    PluginFactory,
    connection_names,
    wait_for,
)
from tests.support.servers import free_port

from lbtoolkit import StartError, new_service
from lbtoolkit.plugins.rabbitmq import (
    Delivery,
    Options,
    Plugin,
    RabbitMQConnectionError,
    RabbitMQDeclareError,
    RabbitMQNotConnectedError,
    new_plugin,
)
from lbtoolkit.plugins.rabbitmq._delivery import outgoing
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration


async def test_round_trip_carries_event_and_headers_in_amqp_properties(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name, subscriber_name = names.service("users"), names.service("mailer")
    queue = names.queue(subscriber_name, publisher_name, "user.created")
    raw_queue = f"{names.tag}-raw"
    names.queues.add(raw_queue)
    received: list[Delivery] = []
    raw: list[AbstractIncomingMessage] = []

    async def handler(delivery: Delivery) -> None:
        received.append(delivery)

    async with (
        open_plugin(make_plugin(publisher_name)) as publisher,
        open_plugin(make_plugin(subscriber_name)) as subscriber,
        await aio_pika.connect(BROKER, timeout=5) as connection,
    ):
        subscription = await subscriber.subscribe(publisher_name, "user.created", handler)
        assert subscription.queue == queue
        assert subscription.consuming
        channel = await connection.channel()
        spy = await channel.declare_queue(raw_queue, auto_delete=True)
        await spy.bind(publisher_name, "user.created")

        async def keep(message: AbstractIncomingMessage) -> None:
            raw.append(message)

        await spy.consume(keep, no_ack=True)

        payload = bytes(range(256))
        await publisher.publish("user.created", payload, {"trace": "abc", "n": 1})
        await wait_for(lambda: bool(received and raw), 5, "the message was not received")

    (delivery,) = received
    assert delivery.data == payload
    assert delivery.event == "user.created"
    assert delivery.service == publisher_name
    assert dict(delivery.headers) == {"trace": "abc", "n": 1}
    assert delivery.attempt == 1
    assert not delivery.redelivered
    (message,) = raw
    assert message.body == payload
    assert message.type == "user.created"
    assert message.app_id == publisher_name
    assert message.headers == {"trace": "abc", "n": 1}
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.message_id == delivery.message_id


@pytest.mark.parametrize("headers", [None, {}, {"trace": "abc", "n": 1, "flag": True}])
@pytest.mark.parametrize("kind", [None, "users.UserCreated"])
def test_a_published_message_has_the_bytes_aio_pika_would_send(
    headers: dict[str, str | int | bool] | None, kind: str | None
) -> None:
    """The plugin builds AMQP properties without aio-pika's Message: the wire must not differ."""
    message = outgoing("users", "user.created", b"payload", headers, kind)
    expected = aio_pika.Message(
        b"payload",
        headers=dict(headers) if headers else None,
        type=kind or "user.created",
        app_id="users",
        message_id=message.properties.message_id,
        timestamp=message.properties.timestamp,
        delivery_mode=DeliveryMode.PERSISTENT,
    )
    assert message.body == expected.body
    assert message.properties.marshal() == expected.properties.marshal()


async def test_a_topic_pattern_receives_each_matching_event_by_name(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name, subscriber_name = names.service("shop"), names.service("audit")
    queue = names.queue(subscriber_name, publisher_name, "order.*")
    got: list[tuple[str, bytes]] = []

    async def handler(delivery: Delivery) -> None:
        got.append((delivery.event, delivery.data))

    async with (
        open_plugin(make_plugin(publisher_name)) as publisher,
        open_plugin(make_plugin(subscriber_name)) as subscriber,
    ):
        subscription = await subscriber.subscribe(publisher_name, "order.*", handler)
        assert subscription.queue == queue == f"{subscriber_name}:{publisher_name}:order.+"
        for event in ("order.paid", "user.created", "order.shipped"):
            await publisher.publish(event, event.encode())
        await wait_for(lambda: len(got) == 2, 5, "the matching events did not arrive")
        await asyncio.sleep(0.1)
    assert got == [("order.paid", b"order.paid"), ("order.shipped", b"order.shipped")]


async def test_unreachable_broker_fails_the_service_start_naming_prefix_host_and_port() -> None:
    port = free_port()
    app = new_service(
        "orders",
        env_prefix="MYSVC",
        environ={
            "MYSVC_QUEUE_HOST": "127.0.0.1",
            "MYSVC_QUEUE_PORT": str(port),
            "MYSVC_QUEUE_PASSWORD": "sup3rsecret",
        },
        argv=[],
    )
    plugin = new_plugin(app.runtime, Options("queue"))
    app.runtime.plugin.provide(lambda: plugin, provides=Plugin, name="queue")

    with pytest.raises(StartError) as caught:
        await app.start()

    text = str(caught.value)
    assert text.startswith(
        'start failed at plugins pre_start: plugin "queue" pre_start: RabbitMQConnectionError: '
        f'plugin "queue" (rabbitmq): cannot connect to 127.0.0.1:{port}: '
    )
    assert "Connect call failed" in text
    assert "Hint: check MYSVC_QUEUE_HOST and MYSVC_QUEUE_PORT (or MYSVC_QUEUE_DSN)" in text
    assert "sup3rsecret" not in text
    report = await app.runtime.tools.probes.run("readiness")
    assert report["queue"].startswith("RabbitMQNotConnectedError: ")
    assert f"127.0.0.1:{port}" in report["queue"]


async def test_unreachable_dsn_is_reported_by_its_host_and_port_without_password(
    make_plugin: PluginFactory,
) -> None:
    port = free_port()
    plugin = make_plugin("orders", {"QUEUE_DSN": f"amqp://bob:dsnsecret@127.0.0.1:{port}/x"})
    with pytest.raises(RabbitMQConnectionError) as caught:
        await plugin.pre_start()
    error = caught.value
    assert (error.owner, error.host, error.port) == ('plugin "queue" (rabbitmq)', "127.0.0.1", port)
    assert "dsnsecret" not in str(error)
    assert "dsnsecret" not in repr(error.__cause__)


async def test_wrong_password_says_so_without_showing_it(make_plugin: PluginFactory) -> None:
    plugin = make_plugin("orders", {"QUEUE_HOST": "127.0.0.1", "QUEUE_PASSWORD": "wr0ng-pass"})
    with pytest.raises(RabbitMQConnectionError) as caught:
        await plugin.pre_start()
    text = str(caught.value)
    assert "ACCESS_REFUSED" in text
    assert "Hint: check QUEUE_USERNAME and QUEUE_PASSWORD" in text
    assert "wr0ng-pass" not in text


async def test_an_exchange_of_another_type_is_named_in_the_error(
    names: Names, make_plugin: PluginFactory
) -> None:
    service = names.service("legacy")
    async with await aio_pika.connect(BROKER, timeout=5) as connection:
        channel = await connection.channel()
        await channel.declare_exchange(service, aio_pika.ExchangeType.FANOUT, durable=True)
    plugin = make_plugin(service)
    with pytest.raises(RabbitMQDeclareError) as caught:
        await plugin.pre_start()
    text = str(caught.value)
    assert text.startswith(
        f'plugin "queue" (rabbitmq): declaring exchange {service!r} failed: '
        "ChannelPreconditionFailed: PRECONDITION_FAILED - inequivalent arg 'type'"
    )
    assert text.endswith("(the Go toolkit declares its exchanges as fanout, these are topic)")
    assert plugin.connection_name not in await connection_names()


async def test_readiness_follows_the_connection(names: Names, make_plugin: PluginFactory) -> None:
    plugin = make_plugin(names.service("ready"))
    probes = plugin._runtime.tools.probes
    assert (await probes.run("readiness"))["queue"].startswith("RabbitMQNotConnectedError")
    async with open_plugin(plugin):
        assert (await probes.run("readiness"))["queue"] == "ok"
    assert (await probes.run("readiness"))["queue"].startswith("RabbitMQNotConnectedError")


async def test_on_stop_closes_the_named_connection(
    names: Names, make_plugin: PluginFactory
) -> None:
    service = names.service("conn")
    names.queue(service, service, "ping")
    plugin = make_plugin(service)
    name = plugin.connection_name
    assert await _count_named(name, 0) == 0
    async with open_plugin(plugin):
        await plugin.subscribe(service, "ping", _ignore)
        # One connection however many subscriptions: the broker lists it by name.
        assert await _count_named(name, 1) == 1
    assert await _count_named(name, 0) == 0


async def _count_named(name: str, expected: int) -> int:
    """Connections named ``name``, polled until ``expected`` (the broker lists them late)."""
    count = -1
    for _ in range(50):  # at most ~5 s
        count = collections.Counter(await connection_names())[name]
        if count == expected:
            break
        await asyncio.sleep(0.1)
    return count


async def _ignore(delivery: Delivery) -> None:
    pass


async def test_two_services_each_get_every_message_and_replicas_share_the_work(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name = names.service("shop")
    billing, audit = names.service("billing"), names.service("audit")
    names.queue(billing, publisher_name, "order.paid")
    names.queue(audit, publisher_name, "order.paid")
    seen: dict[str, list[bytes]] = collections.defaultdict(list)

    def recorder(who: str) -> collections.abc.Callable[[Delivery], collections.abc.Awaitable[None]]:
        async def handle(delivery: Delivery) -> None:
            seen[who].append(delivery.data)
            await asyncio.sleep(0.002)  # lets the other replica take its share

        return handle

    total = 200
    async with contextlib.AsyncExitStack() as stack:
        publisher = await stack.enter_async_context(open_plugin(make_plugin(publisher_name)))
        for who, service in (("billing-1", billing), ("billing-2", billing), ("audit", audit)):
            plugin = await stack.enter_async_context(open_plugin(make_plugin(service)))
            await plugin.subscribe(publisher_name, "order.paid", recorder(who))
        await asyncio.gather(*(publisher.publish("order.paid", b"%d" % i) for i in range(total)))
        await wait_for(
            lambda: (
                len(seen["audit"]) + len(seen["billing-1"]) + len(seen["billing-2"]) >= 2 * total
            ),
            10,
            "not every message arrived",
        )

    expected = sorted(b"%d" % i for i in range(total))
    assert sorted(seen["audit"]) == expected
    assert sorted(seen["billing-1"] + seen["billing-2"]) == expected
    assert seen["billing-1"]
    assert seen["billing-2"]


async def test_prefetch_bounds_the_handlers_running_at_once(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name, worker_name = names.service("src"), names.service("worker")
    names.queue(worker_name, publisher_name, "job")
    release = asyncio.Event()
    running = 0
    peak = 0
    done = 0

    async def handler(delivery: Delivery) -> None:
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        done += 1

    async with (
        open_plugin(make_plugin(publisher_name)) as publisher,
        open_plugin(make_plugin(worker_name, {"QUEUE_PREFETCH": "3"})) as worker,
    ):
        await worker.subscribe(publisher_name, "job", handler)
        for i in range(10):
            await publisher.publish("job", b"%d" % i)
        await wait_for(lambda: running == 3, 5, "three handlers did not start")
        await asyncio.sleep(0.3)  # room for a fourth, if prefetch were ignored
        assert peak == 3
        release.set()
        await wait_for(lambda: done == 10, 5, "the jobs did not finish")
    assert peak == 3


async def test_failing_handler_is_retried_then_dead_lettered(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name, worker_name = names.service("src"), names.service("worker")
    queue = names.queue(worker_name, publisher_name, "job")
    attempts: dict[bytes, list[int]] = collections.defaultdict(list)

    async def handler(delivery: Delivery) -> None:
        attempts[delivery.data].append(delivery.attempt)
        if delivery.data == b"poison" or (delivery.data == b"flaky" and delivery.attempt == 1):
            msg = f"cannot handle {delivery.data!r}"
            raise ValueError(msg)

    worker = make_plugin(worker_name, {"QUEUE_RETRY_LIMIT": "2"})
    async with open_plugin(make_plugin(publisher_name)) as publisher, open_plugin(worker):
        await worker.subscribe(publisher_name, "job", handler)
        await publisher.publish("job", b"poison", {"k": "v"})
        await publisher.publish("job", b"flaky")
        await wait_for(
            lambda: attempts[b"poison"] == [1, 2, 3] and attempts[b"flaky"] == [1, 2],
            10,
            f"unexpected attempts {dict(attempts)}",
        )
        channel = await worker.channel()
        dead: AbstractIncomingMessage | None = None
        for _ in range(100):
            dead_queue = await channel.declare_queue(f"{queue}.dead-letter", passive=True)
            dead = await dead_queue.get(no_ack=True, fail=False)
            if dead is not None:
                break
            await asyncio.sleep(0.05)
        assert dead is not None
        assert dead.body == b"poison"
        assert dead.type == "job"
        assert dead.headers["k"] == "v"
        assert await dead_queue.get(no_ack=True, fail=False) is None
    assert attempts[b"flaky"] == [1, 2]


async def test_handlers_run_only_from_on_start(names: Names, make_plugin: PluginFactory) -> None:
    publisher_name, worker_name = names.service("src"), names.service("worker")
    names.queue(worker_name, publisher_name, "early")
    names.queue(worker_name, publisher_name, "late")
    got: list[bytes] = []

    async def handler(delivery: Delivery) -> None:
        got.append(delivery.data)

    worker = make_plugin(worker_name)
    # Subscribed before pre_start: the queue is declared at pre_start.
    await worker.subscribe(publisher_name, "early", handler)
    async with open_plugin(make_plugin(publisher_name)) as publisher:
        await worker.pre_start()
        try:
            await worker.subscribe(publisher_name, "late", handler)
            await publisher.publish("early", b"1")
            await publisher.publish("late", b"2")
            await asyncio.sleep(0.3)
            assert got == []  # declared, queued, but nobody consumes before on_start
            await worker.on_start()
            await wait_for(lambda: len(got) == 2, 5, "queued messages were not consumed")
        finally:
            await worker.on_stop()
    assert sorted(got) == [b"1", b"2"]


async def test_stop_lets_running_handlers_finish_and_publish(
    names: Names, make_plugin: PluginFactory
) -> None:
    source, worker_name, sink = names.service("src"), names.service("worker"), names.service("sink")
    job_queue = names.queue(worker_name, source, "job")
    names.queue(sink, worker_name, "done")
    started, release = asyncio.Event(), asyncio.Event()
    done: list[bytes] = []
    worker = make_plugin(worker_name)

    async def work(delivery: Delivery) -> None:
        started.set()
        await release.wait()
        await worker.publish("done", delivery.data)

    async def collect(delivery: Delivery) -> None:
        done.append(delivery.data)

    async with (
        open_plugin(make_plugin(source)) as publisher,
        open_plugin(make_plugin(sink)) as collector,
    ):
        await collector.subscribe(worker_name, "done", collect)
        await worker.pre_start()
        await worker.subscribe(source, "job", work)
        await worker.on_start()
        await publisher.publish("job", b"42")
        await asyncio.wait_for(started.wait(), 5)
        stopping = asyncio.create_task(worker.on_stop())
        await asyncio.sleep(0.1)
        assert not stopping.done()  # waiting for the handler
        release.set()
        await asyncio.wait_for(stopping, 5)
        await wait_for(lambda: done == [b"42"], 5, "the handler's publish did not arrive")
        channel = await collector.channel()
        declared = await channel.declare_queue(job_queue, passive=True)
        assert declared.declaration_result.message_count == 0  # acknowledged before closing


async def test_unsubscribe_stops_consuming_and_keeps_the_queue(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name, worker_name = names.service("src"), names.service("worker")
    queue = names.queue(worker_name, publisher_name, "tick")
    got: list[bytes] = []

    async def handler(delivery: Delivery) -> None:
        got.append(delivery.data)

    async with (
        open_plugin(make_plugin(publisher_name)) as publisher,
        open_plugin(make_plugin(worker_name)) as worker,
    ):
        subscription = await worker.subscribe(publisher_name, "tick", handler)
        await publisher.publish("tick", b"1")
        await wait_for(lambda: got == [b"1"], 5, "first message not received")
        await subscription.unsubscribe()
        assert not subscription.consuming
        await publisher.publish("tick", b"2")
        channel = await worker.channel()
        for _ in range(50):
            result = await channel.declare_queue(queue, passive=True)
            if result.declaration_result.message_count == 1:
                break
            await asyncio.sleep(0.05)
        assert result.declaration_result.message_count == 1
    assert got == [b"1"]


async def test_calls_outside_the_lifecycle_say_what_is_wrong(make_plugin: PluginFactory) -> None:
    plugin = make_plugin("orders")
    with pytest.raises(RabbitMQNotConnectedError) as caught:
        await plugin.publish("x", b"")
    assert str(caught.value) == (
        "plugin \"queue\" (rabbitmq): cannot publish 'x': not connected. Hint: the plugin "
        "connects in pre_start and disconnects in on_stop; call it while the service runs"
    )
    with pytest.raises(RabbitMQNotConnectedError):
        await plugin.channel()
