"""Breaking a private broker leaves the machine's shared broker alone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from tests.plugins.rabbitmq.rabbitmq_support import (
    Names,
    PluginFactory,
    SharedBrokerWitness,
    assert_undisturbed,
    private_broker_environ,
    wait_for,
)
from tests.support.servers import PrivateRabbitMQ

from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

RECONNECT_TIMEOUT = 30.0


async def test_restarting_stopping_and_disconnecting_a_private_broker_spares_the_shared_one(
    names: Names,
    make_plugin: PluginFactory,
    private_broker: PrivateRabbitMQ,
    shared_broker_witness: SharedBrokerWitness,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.CRITICAL)  # the private outages are noisy by design
    environ = {"QUEUE_RECONNECT_INTERVAL": "200ms"} | private_broker_environ(private_broker)
    plugin = make_plugin(names.service("private"), environ)
    reconnects = 0

    def count_reconnect(_: object) -> None:
        nonlocal reconnects
        reconnects += 1

    def reconnected(times: int) -> Callable[[], bool]:
        return lambda: reconnects >= times

    def stop_and_start() -> None:
        private_broker.stop()
        private_broker.start()

    disruptions: dict[str, Callable[[], object]] = {
        "restart": private_broker.restart,
        "close_all_connections": lambda: private_broker.ctl("close_all_connections", "test"),
        "stop and start": stop_and_start,
    }
    async with open_plugin(plugin):
        assert plugin._connection is not None
        plugin._connection.reconnect_callbacks.add(count_reconnect)
        for done, (what, disrupt) in enumerate(disruptions.items(), start=1):
            before = await shared_broker_witness.report()
            await asyncio.to_thread(disrupt)
            # The private broker was really disrupted: the plugin lost it and came back.
            await wait_for(
                reconnected(done),
                RECONNECT_TIMEOUT,
                f"the plugin did not reconnect to the private broker after {what}",
            )
            await shared_broker_witness.wait_for_more(before)
    assert_undisturbed(await shared_broker_witness.finish())
