"""A relay of its own process: ``python relay_process.py DSN URL SERVICE BATCH_SIZE [STALL_AFTER]``.

With ``STALL_AFTER`` = n > 0, the relay stalls right after the broker confirmed
its n-th message, before its round can delete the row, and prints
``stalled``: killed then, it leaves confirmed rows behind, as a relay dying
between the confirm and the commit does.

Prints ``ready`` once the outbox relays, then ``sent N`` (messages it sent and
deleted) every 0.1 s; stops cleanly on SIGTERM. The outbox
tests kill it with SIGKILL to play a replica that dies mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from lbtoolkit.plugins import outbox, postgres_pg, rabbitmq
from lbtoolkit.plugins.rabbitmq import HeaderValue
from lbtoolkit.testing import new_test_runtime, open_plugin


class StallingBroker:
    """The broker plugin as the relay sees it, stalling after the n-th confirm."""

    def __init__(self, broker: rabbitmq.Plugin, stall_after: int) -> None:
        self._broker = broker
        self._stall_after = stall_after
        self._confirmed = 0

    async def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> None:
        await self._broker.publish(event, data, headers)
        self._confirmed += 1
        if self._confirmed == self._stall_after:
            sys.stdout.write("stalled\n")
            sys.stdout.flush()
            await asyncio.Event().wait()  # until the test kills the process

    async def subscribe(self, service: str, event: str, handler: Any, **options: Any) -> Any:
        return await self._broker.subscribe(service, event, handler, **options)


async def relay(dsn: str, url: str, service: str, batch_size: str, stall_after: str = "0") -> None:
    db = postgres_pg.new_test_plugin(postgres_pg.Options(name="db"), environ={"DB_DSN": dsn})
    runtime = new_test_runtime(
        service, environ={"EVENTS_DSN": url, "EVENTS_PUBLISH_TIMEOUT": "60s"}
    )
    events = rabbitmq.new_plugin(runtime, rabbitmq.Options("events"))
    runtime.config.raise_for_issues()
    box = outbox.new_test_plugin(
        outbox.Options(database=db, broker=StallingBroker(events, int(stall_after))),
        environ={"OUTBOX_BATCH_SIZE": batch_size, "OUTBOX_POLL_INTERVAL": "200ms"},
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with AsyncExitStack() as stack:
        for plugin in (db, events, box):
            await stack.enter_async_context(open_plugin(plugin))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while not stop.is_set():
            # Progress for the test: how many messages this relay sent and deleted.
            sys.stdout.write(f"sent {sent(box)}\n")
            sys.stdout.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


def sent(box: object) -> int:
    assert isinstance(box, outbox.OutboxPlugin)
    return box.sent


if __name__ == "__main__":
    asyncio.run(relay(*sys.argv[1:6]))
