"""The NATS plugin against real servers: errors, readiness, delays, dead letters, lifecycle.

What both broker plugins promise alike is in ``tests/plugins/messaging``; this
file covers what is NATS' own. Streams are unique per test and deleted after it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats as nats_client
import nats.errors
import pytest
import pytest_asyncio
from tests.plugins.nats.nats_support import SHARED, PrivateNats, make_plugin, wait_for
from tests.support.servers import free_port

from lbtoolkit.plugins.nats import (
    Delivery,
    Handler,
    NatsConnectionError,
    NatsDeclareError,
    NatsHandlerError,
    NatsNotConnectedError,
    NatsPlugin,
    NatsPublishError,
)
from lbtoolkit.plugins.nats._wire import dead_letter_stream
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

FAST = {"NATS_URL": SHARED, "NATS_RETRY_DELAY": "20ms", "NATS_MAX_DELAY": "100ms"}


class Services:
    """Unique service names (so streams) for one test; the streams are deleted after it."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.streams: set[str] = set()

    def __call__(self, role: str) -> str:
        name = f"t-{self.tag}-{role}"
        self.streams.update({name, dead_letter_stream(name)})
        return name


@pytest_asyncio.fixture
async def services() -> AsyncIterator[Services]:
    found = Services()
    yield found
    client = await nats_client.connect(SHARED)
    try:
        js = client.jetstream()
        for stream in sorted(found.streams):
            try:
                await js.delete_stream(stream)
            except nats.errors.Error:
                continue  # never created by this test
    finally:
        await client.close()


async def test_an_unreachable_server_fails_the_start_naming_prefix_address_and_variables() -> None:
    port = free_port()
    environ = {"MYSERVICE_EV_ADDR": f"127.0.0.1:{port}", "MYSERVICE_EV_CONNECT_TIMEOUT": "300ms"}
    plugin = make_plugin("orders", environ, prefix="ev", env_prefix="MYSERVICE")
    with pytest.raises(NatsConnectionError) as caught:
        await plugin.pre_start()
    assert str(caught.value) == (
        f'plugin "ev" (nats): cannot connect to 127.0.0.1:{port}: ConnectionRefusedError: '
        f"[Errno 111] Connect call failed ('127.0.0.1', {port}). Hint: check MYSERVICE_EV_ADDR "
        "(or MYSERVICE_EV_URL) and that nats-server runs there"
    )


async def test_a_refused_login_names_the_credentials_without_showing_them(
    tmp_path: Path,
) -> None:
    with PrivateNats(tmp_path, "--user", "app", "--pass", "right-secret") as server:
        environ = {
            "NATS_URL": server.url,
            "NATS_USERNAME": "app",
            "NATS_PASSWORD": "wrong-secret",
            "NATS_CONNECT_TIMEOUT": "500ms",
        }
        with pytest.raises(NatsConnectionError) as caught:
            await make_plugin("orders", environ).pre_start()
        async with open_plugin(make_plugin("orders", {**environ, "NATS_PASSWORD": "right-secret"})):
            pass  # the right password connects
    text = str(caught.value)
    assert text.startswith(f'plugin "nats" (nats): cannot connect to 127.0.0.1:{server.port}: ')
    # The server's -ERR is lost when its close resets the connection first.
    assert "Authorization" in text or "Connection reset by peer" in text
    assert text.endswith("Hint: check NATS_USERNAME and NATS_PASSWORD (or NATS_TOKEN)")
    assert "wrong-secret" not in text
    assert "right-secret" not in text


async def test_calls_outside_the_lifecycle_say_what_is_wrong(services: Services) -> None:
    plugin = make_plugin(services("orders"), FAST)
    with pytest.raises(NatsNotConnectedError) as early:
        await plugin.publish("order.paid", b"")
    assert str(early.value) == (
        "plugin \"nats\" (nats): cannot publish 'order.paid': not connected. Hint: the plugin "
        "connects in pre_start and disconnects in on_stop; call it while the service runs"
    )
    with pytest.raises(NatsNotConnectedError):
        await plugin.health_check()
    async with open_plugin(plugin):
        await plugin.health_check()
        with pytest.raises(NatsPublishError) as bad:
            await plugin.publish("order.*", b"")
        assert str(bad.value) == (
            f"plugin \"nats\" (nats): publishing 'order.*' to subject '{services('orders')}."
            "order.*' failed: 'order.*' is not an event name (dot-separated words; no spaces, "
            "no wildcards * or >)"
        )
        with pytest.raises(NatsPublishError) as bad_header:
            await plugin.publish("order.paid", b"", {"bad key": "v"})
        assert str(bad_header.value) == (
            f"plugin \"nats\" (nats): publishing 'order.paid' to subject '{services('orders')}."
            "order.paid' failed: BadHeaderError: nats: invalid header: 'bad key' (a header name "
            "is letters, digits and !#$%&'*+-.^_`|~)"
        )
    with pytest.raises(NatsNotConnectedError):
        await plugin.publish("order.paid", b"")
    with pytest.raises(NatsNotConnectedError):
        await plugin.health_check()


async def test_a_handler_of_another_shape_is_refused_before_anything_is_created(
    services: Services,
) -> None:
    async def handler(data: str) -> None:
        del data

    plugin = make_plugin(services("mailer"), FAST)
    with pytest.raises(NatsHandlerError) as caught:
        await plugin.subscribe("users", "user.created", handler)  # type: ignore[arg-type]  # refused
    assert str(caught.value) == (
        'plugin "nats" (nats): cannot subscribe '
        "tests.plugins.nats.test_nats_plugin.test_a_handler_of_another_shape_is_refused_before_"
        "anything_is_created.<locals>.handler to users/user.created: its first parameter 'data' "
        "is annotated str. Hint: annotate its first parameter as bytes, to receive the payload "
        "(async def handle(data: bytes) -> None), or as Delivery, to receive the payload with "
        "its event, headers and attempt (async def handle(delivery: Delivery) -> None)"
    )


async def test_a_handler_that_is_not_async_is_refused_before_anything_is_created(
    services: Services,
) -> None:
    def handler(data: bytes) -> None:
        del data

    plugin = make_plugin(services("mailer"), FAST)
    with pytest.raises(NatsHandlerError) as caught:
        await plugin.subscribe("users", "user.created", handler)  # type: ignore[arg-type]  # refused
    assert str(caught.value) == (
        'plugin "nats" (nats): cannot subscribe '
        "tests.plugins.nats.test_nats_plugin.test_a_handler_that_is_not_async_is_refused_before_"
        "anything_is_created.<locals>.handler to users/user.created: it is not async (each "
        "message is awaited): make it async def. Hint: annotate its first parameter as bytes, "
        "to receive the payload (async def handle(data: bytes) -> None), or as Delivery, to "
        "receive the payload with its event, headers and attempt "
        "(async def handle(delivery: Delivery) -> None)"
    )


async def test_a_stream_of_that_name_storing_other_subjects_is_named_in_the_error(
    services: Services,
) -> None:
    name = services("orders")
    client = await nats_client.connect(SHARED)
    try:
        await client.jetstream().add_stream(name=name, subjects=[f"elsewhere-{name}.>"])
        with pytest.raises(NatsDeclareError) as caught:
            await make_plugin(name, FAST).pre_start()
    finally:
        await client.close()
    assert str(caught.value) == (
        f"plugin \"nats\" (nats): declaring stream '{name}' failed: it exists and stores "
        f"subjects elsewhere-{name}.>, not {name}.>. Hint: a stream or consumer made earlier "
        "with other settings must be changed or deleted first (nats stream info / nats "
        "consumer info show them), and JetStream must be enabled on the server (nats-server -js)"
    )


async def test_retries_wait_longer_each_time_and_the_dead_letter_says_why(
    services: Services,
) -> None:
    source, worker = services("src"), services("worker")
    loop = asyncio.get_running_loop()
    seen: list[float] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(loop.time())
        msg = f"broken on attempt {delivery.attempt}"
        raise ValueError(msg)

    environ = {**FAST, "NATS_MAX_DELIVER": "3", "NATS_RETRY_DELAY": "300ms", "NATS_MAX_DELAY": "1s"}
    async with (
        open_plugin(make_plugin(source, FAST)) as publisher,
        open_plugin(make_plugin(worker, environ)) as subscriber,
    ):
        await subscriber.subscribe(source, "job", handler)
        await publisher.publish("job", b"poison", {"trace": "t-3"})
        await wait_for(lambda: len(seen) == 3, 15, f"expected three attempts, saw {len(seen)}")
        client = await nats_client.connect(SHARED)
        try:
            js = client.jetstream()
            stream = dead_letter_stream(worker)
            for _ in range(300):
                if (await js.stream_info(stream)).state.messages:
                    break
                await asyncio.sleep(0.02)
            letter = await js.get_last_msg(stream, f"{worker}-dlq.{source}.job")
        finally:
            await client.close()
    # nak(delay): 300ms after the first failure, then twice that; never earlier.
    first_gap, second_gap = seen[1] - seen[0], seen[2] - seen[1]
    assert first_gap >= 0.29
    assert second_gap >= 0.59
    assert letter.data == b"poison"
    headers = letter.headers or {}
    assert headers["trace"] == "t-3"
    assert headers["Lbtoolkit-Attempts"] == "3"
    assert headers["Lbtoolkit-Error"] == "ValueError: broken on attempt 3"
    assert headers["Lbtoolkit-Consumer"] == f"{worker}:{source}:job"
    assert headers["Lbtoolkit-Subject"] == f"{source}.job"


async def test_prefetch_bounds_the_handlers_running_at_once(services: Services) -> None:
    source, worker = services("src"), services("worker")
    running = peak = done = 0
    release = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        nonlocal running, peak, done
        del delivery
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        done += 1

    async with (
        open_plugin(make_plugin(source, FAST)) as publisher,
        open_plugin(make_plugin(worker, {**FAST, "NATS_PREFETCH": "3"})) as subscriber,
    ):
        await subscriber.subscribe(source, "job", handler)
        for i in range(10):
            await publisher.publish("job", b"%d" % i)
        await wait_for(lambda: running == 3, 10, "three handlers did not start")
        await asyncio.sleep(0.3)  # room for a fourth, if prefetch were ignored
        assert peak == 3
        release.set()
        await wait_for(lambda: done == 10, 10, "the jobs did not finish")
    assert peak == 3


async def test_two_services_each_get_every_message_and_replicas_share_the_work(
    services: Services,
) -> None:
    source, mailer, audit = services("src"), services("mailer"), services("audit")
    got: dict[str, list[bytes]] = {"mailer-1": [], "mailer-2": [], "audit": []}

    def collect(name: str) -> Handler:
        async def handler(delivery: Delivery) -> None:
            got[name].append(delivery.data)

        return handler

    async with (
        open_plugin(make_plugin(source, FAST)) as publisher,
        open_plugin(make_plugin(mailer, FAST)) as first,
        open_plugin(make_plugin(mailer, FAST)) as second,
        open_plugin(make_plugin(audit, FAST)) as auditor,
    ):
        await first.subscribe(source, "user.*", collect("mailer-1"))
        await second.subscribe(source, "user.*", collect("mailer-2"))
        await auditor.subscribe(source, "user.created", collect("audit"))
        for i in range(40):
            await publisher.publish("user.created", b"%d" % i)
        await wait_for(
            lambda: len(got["audit"]) == 40 and len(got["mailer-1"]) + len(got["mailer-2"]) == 40,
            15,
            f"not everything arrived: { {k: len(v) for k, v in got.items()} }",
        )
    assert sorted(got["mailer-1"] + got["mailer-2"]) == sorted(got["audit"])


async def test_a_subscription_made_before_pre_start_runs_from_on_start(
    services: Services,
) -> None:
    source, worker_name = services("src"), services("worker")
    got: list[bytes] = []

    async def handler(delivery: Delivery) -> None:
        got.append(delivery.data)

    worker: NatsPlugin = make_plugin(worker_name, FAST)
    subscription = await worker.subscribe(source, "early", handler)
    assert not subscription.consuming
    async with open_plugin(make_plugin(source, FAST)) as publisher:
        await worker.pre_start()
        try:
            await publisher.publish("early", b"1")
            await asyncio.sleep(0.3)
            assert got == []  # stored, but nobody fetches before on_start
            await worker.on_start()
            assert subscription.consuming
            await wait_for(lambda: got == [b"1"], 10, "the stored message was not handled")
            await subscription.unsubscribe()
            assert not subscription.consuming
        finally:
            await worker.on_stop()
