"""The outbox plugin against a plain transaction followed by a confirmed publish.

As a scenario (``SCENARIO``) it runs this module as its worker, in a process
of its own, once per repeat. As a worker:
``python -m bench.scenarios.outbox measure`` prints
``{"rates": {"outbox": [...], "plain": [...]}, "latencies": {...}}``: one
rate (msg/s) per block and every message's latency (ms). Run alone,
``python -m bench.scenarios.outbox`` measures and prints the figures without
touching the suite's reports.

Both sides do the same work per message, from ``CONCURRENCY`` tasks: a
transaction on the local PostgreSQL inserting one 64-byte row, and the same
64-byte payload published to the local RabbitMQ with publisher confirms.
The outbox side writes the message with ``tx.publish`` in that transaction;
its latency runs from the transaction's start to the broker's confirm of the
relay's publish. The plain side commits, then publishes and awaits the
confirm; its latency runs over both.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from bench.harness.context import Context
from bench.harness.procs import run_worker
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from bench.workers.timing import emit
from lbtoolkit.plugins import outbox, postgres_pg, rabbitmq
from lbtoolkit.plugins._messaging import HeaderValue
from lbtoolkit.testing import new_test_runtime, open_plugin

__all__ = ["SCENARIO"]

DSN = "postgresql://postgres@127.0.0.1:5432/test"
BROKER = "amqp://guest:guest@127.0.0.1:5672/"
SERVICE = "lbtoolkit-bench-outbox"
EVENT = "created"
CONCURRENCY = 16
MESSAGES = 2000  # per block
BLOCKS = 4  # per side, alternating
BODY = b"x" * 64
_WORKER = "bench.scenarios.outbox"


class _ConfirmClock:
    """The broker plugin as the relay sees it, noting when each message was confirmed."""

    def __init__(self, broker: rabbitmq.Plugin) -> None:
        self._broker = broker
        self.confirmed: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}

    async def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> None:
        await self._broker.publish(event, data, headers)
        message_id = str((headers or {}).get(outbox.MESSAGE_ID_HEADER))
        now = time.perf_counter()
        future = self.waiting.pop(message_id, None)
        if future is None:
            self.confirmed[message_id] = now
        elif not future.done():
            future.set_result(now)

    async def subscribe(self, service: str, event: str, handler: Any, **options: Any) -> Any:
        return await self._broker.subscribe(service, event, handler, **options)

    def confirm_of(self, message_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        at = self.confirmed.pop(message_id, None)
        if at is None:
            self.waiting[message_id] = future
        else:
            future.set_result(at)
        return future


async def _block(one: Any) -> tuple[float, list[float]]:
    """``MESSAGES`` messages from ``CONCURRENCY`` tasks; (msg/s, latencies in ms)."""
    latencies: list[float] = []
    counter = iter(range(MESSAGES))

    async def task() -> None:
        latencies.extend([await one(number) for number in counter])

    started = time.perf_counter()
    await asyncio.gather(*(task() for _ in range(CONCURRENCY)))
    return MESSAGES / (time.perf_counter() - started), latencies


async def measure() -> dict[str, Any]:
    schema = f"bench_outbox_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(DSN)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    await admin.execute(f'CREATE TABLE "{schema}".rows (id bigserial, body bytea)')
    try:
        dsn = f"{DSN}?search_path={schema}"
        db = postgres_pg.new_test_plugin(
            postgres_pg.Options(name="db"),
            environ={"DB_DSN": dsn, "DB_MAX_CONNECTIONS": str(CONCURRENCY + 4)},
        )
        runtime = new_test_runtime(SERVICE, environ={"EVENTS_DSN": BROKER})
        events = rabbitmq.new_plugin(runtime, rabbitmq.Options("events"))
        runtime.config.raise_for_issues()
        clock = _ConfirmClock(events)
        box = outbox.new_test_plugin(outbox.Options(database=db, broker=clock))
        async with open_plugin(db), open_plugin(events), open_plugin(box):
            pool = db.db()

            async def through_outbox(_: int) -> float:
                started = time.perf_counter()
                async with pool.acquire() as conn, box.transaction(conn) as tx:
                    await conn.execute("INSERT INTO rows (body) VALUES ($1)", BODY)
                    message_id = await tx.publish(EVENT, BODY, key=os.urandom(4).hex())
                confirmed = await clock.confirm_of(message_id)
                return (confirmed - started) * 1e3

            async def plain(_: int) -> float:
                started = time.perf_counter()
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("INSERT INTO rows (body) VALUES ($1)", BODY)
                await events.publish(EVENT, BODY)
                return (time.perf_counter() - started) * 1e3

            sides = {"outbox": through_outbox, "plain": plain}
            rates: dict[str, list[float]] = {name: [] for name in sides}
            latencies: dict[str, list[float]] = {name: [] for name in sides}
            names = list(sides)
            for block in range(2 * BLOCKS):
                name = names[block % 2] if block // 2 % 2 == 0 else names[1 - block % 2]
                rate, times = await _block(sides[name])
                rates[name].append(rate)
                latencies[name].extend(times)
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
    return {"rates": rates, "latencies": latencies}


# -- the scenario -------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(ctx: Context, result: ScenarioResult) -> None:
    rates: dict[str, list[float]] = {"outbox": [], "plain": []}
    p50: dict[str, list[float]] = {"outbox": [], "plain": []}
    p99: dict[str, list[float]] = {"outbox": [], "plain": []}
    for _ in range(ctx.repeats):
        data: dict[str, Any] = run_worker(ctx, _WORKER, ["measure"])
        for side, side_rates in rates.items():
            side_rates.append(statistics.median(data["rates"][side]))
            p50[side].append(_percentile(data["latencies"][side], 0.50))
            p99[side].append(_percentile(data["latencies"][side], 0.99))
        ctx.log(
            f"outbox: {rates['outbox'][-1]:,.0f} msg/s against {rates['plain'][-1]:,.0f} "
            "for a transaction then a publish"
        )
    variant = "outbox: transaction + commit + relay to confirm"
    baseline = "transaction + commit, then confirmed publish"
    result.rows += [
        Row(
            scenario=SCENARIO.name,
            variant=f"{variant}, throughput",
            baseline=f"{baseline}, throughput",
            value=Summary.of(rates["outbox"]),
            baseline_value=Summary.of(rates["plain"]),
            unit="msg/s",
            higher_is_better=True,
        ),
        *(
            Row(
                scenario=SCENARIO.name,
                variant=f"{variant}, {label} latency",
                baseline=f"{baseline}, {label} latency",
                value=Summary.of(values["outbox"]),
                baseline_value=Summary.of(values["plain"]),
                unit="ms",
                higher_is_better=False,
            )
            for label, values in (("p50", p50), ("p99", p99))
        ),
    ]


SCENARIO = Scenario(
    name="outbox",
    title="Transactional outbox: the outbox plugin against a transaction then a publish",
    description=(
        f"Both sides in one process, {CONCURRENCY} concurrent tasks, {BLOCKS} blocks of "
        f"{MESSAGES:,} messages each per side, alternating. Per message: a PostgreSQL "
        "transaction inserting a 64-byte row, and a 64-byte RabbitMQ publish awaited until "
        "confirmed. The outbox side writes the message in the transaction with `tx.publish` "
        "(one key per message) and its relay, woken by NOTIFY, publishes it; its latency runs "
        "from the transaction's start to the confirm of the relay's publish. The baseline "
        "commits, then publishes; its latency covers both. Throughput is each side's median "
        "block rate; latencies are over every message of a run."
    ),
    run=run,
    services=("postgres", "rabbitmq"),
    budget=120,
)


def _alone() -> None:
    """Measure once and print the figures; the suite's reports are left alone."""
    ctx = Context(repeats=1)
    result = SCENARIO.new_result()
    run(ctx, result)
    for row in result.rows:
        sys.stdout.write(
            f"{row.variant}: {row.value.median:,.2f} against "
            f"{row.baseline_value.median:,.2f} {row.unit}\n"  # type: ignore[union-attr]
        )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        emit(asyncio.run(measure()))
    else:
        _alone()
