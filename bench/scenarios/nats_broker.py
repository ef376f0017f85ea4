"""The nats plugin against plain nats-py: JetStream publish and consume on the local server.

As a scenario (``SCENARIO``) it runs this module as its worker, in a process
of its own, once per repeat. As a worker:
``python -m bench.scenarios.nats_broker measure DURATION`` prints
``{"publish": {"rates": {"plugin": msg/s, "raw": msg/s}, "blocks": {...}},
"consume": {...}}``; ``cleanup`` deletes the streams the runs created. Run
alone, ``python -m bench.scenarios.nats_broker`` measures and prints the
ratios without touching the suite's reports.

Both sides publish the same 64-byte messages with the header the plugin
sends (a ``Nats-Msg-Id`` of 32 hex digits) to a file-backed stream, and wait
for JetStream's acknowledgement; both consume, in turn, batches from one
durable pull consumer with explicit acks, fetching up to 32 at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench.harness.context import Context
from bench.harness.procs import run_worker
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from bench.workers.timing import BLOCKS, CONCURRENCY, Op, emit, paired
from lbtoolkit.plugins import nats as nats_plugin
from lbtoolkit.plugins.nats import Delivery
from lbtoolkit.testing import new_test_runtime, open_plugin

__all__ = ["SCENARIO"]

URL = "nats://127.0.0.1:4222"
SERVICE = "lbtoolkit-bench-nats"  # the publishing service: its stream and subjects
STREAM = SERVICE
EVENT = "tick"
CONSUMED = "consumed"  # the event both sides consume
CONSUMER = "lbtoolkit-bench-nats-consume"
PREFETCH = 32
BATCH = 2000  # messages consumed per block
CONSUME_BLOCKS = 8  # blocks per side
TARGET = 0.95
BODY = b"x" * 64
_WORKER = "bench.scenarios.nats_broker"


class _Counter:
    """Counts handled messages; times the first to the last of a batch."""

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.finished = asyncio.Event()

    def hit(self) -> None:
        self.count += 1
        if self.count == 1:
            self.first = time.perf_counter()
        if self.count == BATCH:
            self.last = time.perf_counter()
            self.finished.set()

    async def wait(self) -> tuple[int, float]:
        await asyncio.wait_for(self.finished.wait(), 60)
        return BATCH - 1, self.last - self.first


class _Sides:
    """The plugin and a plain nats-py client, publishing and consuming alike."""

    def __init__(self, plugin: nats_plugin.Plugin, client: Any) -> None:
        self.plugin = plugin
        self.client = client
        self.js = client.jetstream()

    def publishers(self) -> dict[str, Op]:
        subject = f"{SERVICE}.{EVENT}"
        js = self.js

        async def plugin(_: int) -> None:
            await self.plugin.publish(EVENT, BODY)

        async def raw(_: int) -> None:
            # What the plugin sends, built by hand: the same bytes for the server.
            await js.publish(subject, BODY, headers={"Nats-Msg-Id": os.urandom(16).hex()})

        return {"plugin": plugin, "raw": raw}

    async def fill(self) -> None:
        subject = f"{SERVICE}.{CONSUMED}"
        for start in range(0, BATCH, 200):
            await asyncio.gather(
                *(self.js.publish(subject, BODY) for _ in range(start, min(start + 200, BATCH)))
            )

    async def consume(self, side: str) -> tuple[int, float]:
        """Fill the consumer with a batch, then consume it; ``(messages, seconds)``."""
        await self.fill()
        counter = _Counter()
        if side == "plugin":

            async def handler(_: Delivery) -> None:
                counter.hit()

            subscription = await self.plugin.subscribe(
                SERVICE, CONSUMED, handler, queue=CONSUMER, prefetch=PREFETCH
            )
            result = await counter.wait()
            await subscription.unsubscribe()
            return result
        pull = await self.js.pull_subscribe_bind(durable=CONSUMER, stream=STREAM)

        async def fetch() -> None:
            while counter.count < BATCH:
                try:
                    messages = await pull.fetch(PREFETCH, timeout=5)
                except TimeoutError:
                    continue
                for message in messages:
                    await message.ack()
                    counter.hit()

        fetching = asyncio.create_task(fetch())
        result = await counter.wait()
        await fetching
        await pull.unsubscribe()
        return result


async def _declare(js: Any) -> None:
    """The stream and the shared consumer, as the plugin makes them, emptied."""
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(STREAM)
    await js.add_stream(name=STREAM, subjects=[f"{SERVICE}.>"])
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=CONSUMER,
            name=CONSUMER,
            filter_subject=f"{SERVICE}.{CONSUMED}",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30.0,
            max_deliver=-1,
            deliver_policy=DeliverPolicy.NEW,
        ),
    )


async def _cleanup(js: Any) -> None:
    for stream in (STREAM, f"{STREAM}-dlq"):
        try:
            await js.delete_stream(stream)
        except nats.js.errors.NotFoundError:
            continue


async def _measure(sides: _Sides, duration: float) -> dict[str, Any]:
    published = await paired(sides.publishers(), duration=duration, blocks=2 * BLOCKS)
    # The server's pace varies from batch to batch: many short batches in turn,
    # and each side's median rate.
    rates: dict[str, list[float]] = {"plugin": [], "raw": []}
    names = list(rates)
    for i in range(CONSUME_BLOCKS):
        for side in names if i % 2 == 0 else names[::-1]:
            count, elapsed = await sides.consume(side)
            rates[side].append(count / elapsed)
    consumed = {side: statistics.median(rates[side]) for side in names}
    return {"publish": published, "consume": {"rates": consumed, "blocks": rates}}


async def main(mode: str, *args: str) -> None:
    client = await nats.connect(URL)
    try:
        js = client.jetstream()
        if mode == "cleanup":
            await _cleanup(js)
            emit({})
            return
        await _declare(js)
        runtime = new_test_runtime(SERVICE, environ={"NATS_URL": URL})
        plugin = nats_plugin.new_plugin(runtime, nats_plugin.Options())
        runtime.config.raise_for_issues()
        async with open_plugin(plugin):
            result = await _measure(_Sides(plugin, client), float(args[0]))
    finally:
        await client.close()
    emit(result)


# -- the scenario -------------------------------------------------------------

KINDS = {"publish": "acknowledged publish", "consume": "consume"}


def run(ctx: Context, result: ScenarioResult) -> None:
    samples: dict[tuple[str, str], list[float]] = {}
    turn_ratios: dict[str, list[float]] = {}
    duration = str(max(1.0, ctx.duration / 2))
    try:
        for _ in range(ctx.repeats):
            data: dict[str, dict[str, Any]] = run_worker(ctx, _WORKER, ["measure", duration])
            for kind, measured in data.items():
                rates, blocks = measured["rates"], measured["blocks"]
                for side, value in rates.items():
                    samples.setdefault((side, kind), []).append(value)
                turns = zip(blocks["plugin"], blocks["raw"], strict=True)
                turn_ratios.setdefault(kind, []).extend(a / b for a, b in turns)
                ctx.log(
                    f"nats plugin {kind}: {rates['plugin']:,.0f} against {rates['raw']:,.0f} msg/s"
                )
    finally:
        run_worker(ctx, _WORKER, ["cleanup"])
    result.rows += [
        Row(
            scenario=SCENARIO.name,
            variant=f"nats plugin, {label}",
            baseline=f"nats-py, {label}",
            value=Summary.of(samples["plugin", kind]),
            baseline_value=Summary.of(samples["raw", kind]),
            unit="msg/s",
            higher_is_better=True,
            target=TARGET,
            turn_ratios=tuple(turn_ratios[kind]),
        )
        for kind, label in KINDS.items()
    ]


SCENARIO = Scenario(
    name="nats_broker",
    title="NATS JetStream: the nats plugin against nats-py",
    description=(
        f"The plugin and nats-py run in one process, {CONCURRENCY} concurrent publishing "
        f"tasks each, in {2 * BLOCKS} alternating blocks per side and run. Publish: 64-byte "
        "messages with a `Nats-Msg-Id` header (the baseline builds the same header by hand) "
        "to a file-backed stream, each awaiting JetStream's acknowledgement. Consume: the two "
        f"sides take turns on one durable pull consumer, {CONSUME_BLOCKS} batches of "
        f"{BATCH:,} stored messages each, fetching up to {PREFETCH} at a time with an explicit "
        "ack per message (the plugin through a subscription with prefetch "
        f"{PREFETCH}, running its handlers as tasks); each batch is timed from its first "
        "message to its last, and the consume rate is each side's median batch rate."
    ),
    run=run,
    services=("nats",),
    budget=90,
)


def _alone() -> None:
    """Measure once and print the ratios; the suite's reports are left alone."""
    ctx = Context(repeats=1)
    result = SCENARIO.new_result()
    run(ctx, result)
    for row in result.rows:
        sys.stdout.write(
            f"{row.variant}: {row.value.median:,.0f} against {row.baseline_value.median:,.0f} "  # type: ignore[union-attr]
            f"{row.unit}, ratio {row.ratio:.3f} (target {row.target})\n"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(*sys.argv[1:]))
    else:
        _alone()
