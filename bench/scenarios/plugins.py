"""Plugins against the client libraries they wrap, on the local servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.harness.context import Context
from bench.harness.procs import run_worker
from bench.harness.profile import describe, profile_path, read_profile
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from bench.workers.timing import BLOCKS, CONCURRENCY

__all__ = ["SCENARIO"]


@dataclass(frozen=True, slots=True)
class _Pair:
    """A worker measuring the plugin (``variant``) and the raw library (``baseline``)."""

    worker: str
    argument: str  # what the worker's ``measure`` takes besides the duration
    variant: str
    baseline: str
    variant_label: str
    baseline_label: str
    kinds: dict[str, str]  # what the worker reports -> label in the table
    unit: str
    target: float


PAIRS = (
    _Pair(
        "redis_ops",
        "",
        "plugin",
        "raw",
        "redis plugin",
        "redis-py",
        {"get": "GET", "set": "SET"},
        "ops/s",
        0.98,
    ),
    _Pair(
        "rabbitmq_ops",
        "",
        "plugin",
        "raw",
        "rabbitmq plugin",
        "aio-pika",
        {"publish": "confirmed publish", "consume": "consume"},
        "msg/s",
        0.95,
    ),
    _Pair(
        "postgres_ops",
        "pool",
        "pgx",
        "asyncpg",
        "postgres_pgx",
        "asyncpg pool",
        {"select": "primary-key SELECT"},
        "queries/s",
        0.98,
    ),
    _Pair(
        "postgres_ops",
        "orm",
        "gorm",
        "sqlalchemy",
        "postgres_gorm",
        "SQLAlchemy async ORM",
        {"select": "primary-key SELECT (ORM)"},
        "queries/s",
        0.98,
    ),
)


def _duration(ctx: Context) -> float:
    """Seconds per side and operation: half a load run, in alternating blocks."""
    return max(1.0, ctx.duration / 2)


def _measure(ctx: Context, pair: _Pair) -> dict[str, dict[str, Any]]:
    """Per operation: ``{"rates": {side: rate}, "blocks": {side: [rate per turn]}}``."""
    args = ["measure", *([pair.argument] if pair.argument else []), str(_duration(ctx))]
    module = f"bench.workers.{pair.worker}"
    try:
        data: dict[str, dict[str, Any]] = run_worker(ctx, module, args)
    except RuntimeError as error:
        # One more try: a local server may have hiccuped; a second failure is reported.
        ctx.log(f"{module} failed, once more: {str(error).splitlines()[-1]}")
        data = run_worker(ctx, module, args)
    return data


def run(ctx: Context, result: ScenarioResult) -> None:
    run_worker(ctx, "bench.workers.postgres_ops", ["setup"])
    samples: dict[tuple[int, str, str], list[float]] = {}
    turn_ratios: dict[tuple[int, str], list[float]] = {}
    try:
        for _ in range(ctx.repeats):
            for index, pair in enumerate(PAIRS):
                for kind, measured in _measure(ctx, pair).items():
                    rates, blocks = measured["rates"], measured["blocks"]
                    for side, value in rates.items():
                        samples.setdefault((index, side, kind), []).append(value)
                    turns = zip(blocks[pair.variant], blocks[pair.baseline], strict=True)
                    turn_ratios.setdefault((index, kind), []).extend(a / b for a, b in turns)
                    ctx.log(
                        f"{pair.variant_label} {kind}: {rates[pair.variant]:,.0f} against "
                        f"{rates[pair.baseline]:,.0f} {pair.unit}"
                    )
    finally:
        run_worker(ctx, "bench.workers.postgres_ops", ["teardown"])
        run_worker(ctx, "bench.workers.rabbitmq_ops", ["cleanup"])
    for index, pair in enumerate(PAIRS):
        rows = [
            Row(
                scenario="plugins",
                variant=f"{pair.variant_label}, {label}",
                baseline=f"{pair.baseline_label}, {label}",
                value=Summary.of(samples[index, pair.variant, kind]),
                baseline_value=Summary.of(samples[index, pair.baseline, kind]),
                unit=pair.unit,
                higher_is_better=True,
                target=pair.target,
                turn_ratios=tuple(turn_ratios[index, kind]),
            )
            for kind, label in pair.kinds.items()
        ]
        result.rows += rows
        missed = [kind for kind, row in zip(pair.kinds, rows, strict=True) if row.met is False]
        if ctx.profile and missed:
            result.notes += _profile(ctx, pair, missed)


def _profile(ctx: Context, pair: _Pair, kinds: list[str]) -> list[str]:
    bases = {}
    if pair.worker == "postgres_ops":
        run_worker(ctx, "bench.workers.postgres_ops", ["setup"])
    try:
        for side in (pair.variant, pair.baseline):
            bases[side] = profile_path(f"plugins-{pair.worker}-{side}")
            run_worker(
                ctx,
                f"bench.workers.{pair.worker}",
                ["profile", side, str(_duration(ctx))],
                {"BENCH_PROFILE": str(bases[side])},
            )
    finally:
        if pair.worker == "postgres_ops":
            run_worker(ctx, "bench.workers.postgres_ops", ["teardown"])
        if pair.worker == "rabbitmq_ops":
            run_worker(ctx, "bench.workers.rabbitmq_ops", ["cleanup"])
    notes = []
    for kind in kinds:
        ours = read_profile(bases[pair.variant], kind)
        theirs = read_profile(bases[pair.baseline], kind)
        label = f"{pair.variant_label} against {pair.baseline_label}, {pair.kinds[kind]}"
        notes.append(describe(ours, theirs, label=label))
    return notes


SCENARIO = Scenario(
    name="plugins",
    title="Plugins against their client libraries",
    description=(
        f"The plugin and the library it wraps run in one process, {CONCURRENCY} concurrent "
        f"tasks each, in {BLOCKS} alternating blocks per side and run, so other work on the "
        "machine weighs on both alike. The plugin is built the way services build it "
        "(`new_plugin` on a runtime, then its `pre_start`/`on_start` hooks); the "
        "baseline is configured alike (same pool sizes). Redis: GET and SET of a 64-byte "
        "value. RabbitMQ: persistent 64-byte "
        "messages with the plugin's properties (type, app id, message id, timestamp; the "
        "baseline builds the same message by hand) to a durable topic exchange on a "
        "confirming channel, and consumption, the two sides taking turns on one durable "
        "queue, of 8 batches of 2,000 queued messages each with manual acks, prefetch 32, "
        "each batch timed from its first message to its last; the consume rate is each "
        "side's median batch rate, since the broker's pace varies from batch to batch by "
        "more than the difference measured. PostgreSQL: "
        "`SELECT ... WHERE id = $1` on a 1,000-row table through the pool "
        "(`postgres_pgx` against an asyncpg pool), and through an ORM session per query "
        "(`postgres_gorm` against a plain SQLAlchemy async engine and sessionmaker)."
    ),
    run=run,
    services=("postgres", "redis", "rabbitmq"),
    budget=120,
)
