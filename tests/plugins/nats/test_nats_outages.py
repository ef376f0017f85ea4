"""A NATS server restarted mid-stream loses nothing, and readiness reports the outage.

Only private servers are restarted (``PrivateNats``: a port and store of
their own, stopped by PID); the shared server at 127.0.0.1:4222 is left alone.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import nats.errors
import pytest
from tests.plugins.nats.nats_support import PrivateNats, make_plugin, wait_for

from lbtoolkit.plugins.nats import Delivery, NatsConnectionError, NatsPublishError
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

TOTAL = 3000
CONCURRENCY = 50
# Both ends reconnect fast, so the restart costs little test time.
FAST = {"NATS_RECONNECT_WAIT": "100ms", "NATS_PREFETCH": "64", "NATS_ACK_WAIT": "5s"}


async def test_no_message_is_lost_across_a_server_restart(tmp_path: Path) -> None:
    counts: collections.Counter[int] = collections.Counter()
    restarted = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        counts[int(delivery.data)] += 1

    with PrivateNats(tmp_path) as server:
        environ = {"NATS_URL": server.url, **FAST}
        async with (
            open_plugin(make_plugin("orders", environ)) as publisher,
            open_plugin(make_plugin("mailer", environ)) as subscriber,
        ):
            await subscriber.subscribe("orders", "order.paid", handler)
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(TOTAL):
                queue.put_nowait(i)

            async def publish() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    if i == TOTAL // 3 and not restarted.is_set():
                        # Mid-stream: a third published, two thirds to go through the restart.
                        restart = asyncio.create_task(asyncio.to_thread(server.restart))
                        restart.add_done_callback(lambda _: restarted.set())
                    await publisher.publish("order.paid", b"%d" % i)

            await asyncio.gather(*(publish() for _ in range(CONCURRENCY)))
            await asyncio.wait_for(restarted.wait(), 60)
            await wait_for(
                lambda: len(counts) == TOTAL, 60, f"{len(counts)} of {TOTAL} messages arrived"
            )
    missing = [i for i in range(TOTAL) if counts[i] == 0]
    assert missing == []
    assert sorted(counts) == list(range(TOTAL))
    duplicates = sum(counts.values()) - TOTAL
    assert duplicates >= 0  # at least once: a redelivery after the restart is allowed


async def test_readiness_fails_during_an_outage_and_recovers(tmp_path: Path) -> None:
    with PrivateNats(tmp_path) as server:
        plugin = make_plugin("orders", {"NATS_URL": server.url, **FAST})
        [outage] = plugin._runtime.tools.outages.registered()
        async with open_plugin(plugin):
            await plugin.health_check()
            assert not outage.down
            await asyncio.to_thread(server.stop)
            await wait_for(lambda: outage.down, 10, "the lost connection was not reported")
            with pytest.raises(NatsConnectionError) as down:
                await plugin.health_check()
            assert str(down.value) == (
                f'plugin "nats" (nats): cannot connect to 127.0.0.1:{server.port}: connection '
                "lost, reconnecting. Hint: check NATS_ADDR (or NATS_URL) and that nats-server "
                "runs there"
            )
            await asyncio.to_thread(server.start)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 15
            while True:
                try:
                    await plugin.health_check()
                    break
                except NatsConnectionError:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.05)
            assert not outage.down
            await plugin.publish("order.paid", b"after")  # the stream survived the restart


def _publish_error_caused_by(cause: BaseException) -> NatsPublishError:
    try:
        raise cause
    except type(cause) as raised:
        error = NatsPublishError('plugin "nats" (nats)', "orders.x", "x", "not acknowledged")
        error.__cause__ = raised
        return error


def test_a_publish_failed_by_the_server_s_absence_is_the_plugin_s_outage() -> None:
    plugin = make_plugin("orders")
    outages = plugin._runtime.tools.outages
    [registration] = outages.registered()
    error = _publish_error_caused_by(nats.errors.TimeoutError())
    assert outages.classify(error) is registration
    assert outages.classify(ValueError("unrelated")) is None
    assert registration.message == 'plugin "nats" (nats) is unavailable'
