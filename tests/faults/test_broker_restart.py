"""Thousands of messages (10,000 at full scale) through the plugin while its node goes down.

Publishes wait for the broker's confirm and deliveries are acknowledged after
the handler, so nothing may be lost; redeliveries (at-least-once) are counted.
The volume run itself is the rabbitmq tests' (``run``); here the node process
is stopped or killed outright, not only its broker application.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import cast

import pytest

from lbtoolkit.plugins.rabbitmq import Options, RabbitMQPlugin, new_plugin
from lbtoolkit.testing import new_test_runtime
from tests.faults.figures import Figures
from tests.plugins.rabbitmq.rabbitmq_support import Names
from tests.plugins.rabbitmq.test_rabbitmq_delivery import TOTAL, Disruption, run
from tests.support.servers import PrivateRabbitMQ

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateRabbitMQ]:
    """A node of this module's own: each test takes it down and brings it back."""
    with PrivateRabbitMQ() as node:
        yield node


def make_plugin(
    service: str, environ: Mapping[str, str] | None = None, prefix: str = "queue"
) -> RabbitMQPlugin:
    runtime = new_test_runtime(service, environ=environ or {})
    plugin = cast("RabbitMQPlugin", new_plugin(runtime, Options(prefix)))
    runtime.config.raise_for_issues()
    return plugin


@pytest.mark.parametrize("down", [PrivateRabbitMQ.stop, PrivateRabbitMQ.kill], ids=["stop", "kill"])
async def test_no_message_is_lost_when_the_node_goes_down(
    broker: PrivateRabbitMQ,
    down: Callable[[PrivateRabbitMQ], None],
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    caplog.set_level(logging.CRITICAL)  # the outage is noisy by design
    took: dict[str, float] = {}

    def go_down() -> None:
        took["down_at"] = time.monotonic()
        down(broker)

    def come_back() -> None:
        broker.start()
        took["outage_s"] = time.monotonic() - took["down_at"]

    began = time.monotonic()
    outage = Disruption(down=go_down, up=come_back)
    tally = await run(Names(uuid.uuid4().hex[:10]), make_plugin, broker, outage)
    figures.record_all(
        {
            "messages": TOTAL,
            "received_distinct": len(tally.counts),
            "lost": TOTAL - len(tally.counts),
            "duplicates": tally.duplicates,
            "reconnects": tally.reconnects,
            "published_when_down": tally.published_when_disrupted,
            "outage_s": took["outage_s"],
            "run_s": time.monotonic() - began,
        }
    )
    # ``run`` checked that every message arrived. The node went down while
    # messages were still to be published, and both ends reconnected.
    assert tally.published_when_disrupted is not None
    assert tally.published_when_disrupted < TOTAL
    assert tally.reconnects >= 2
