"""Dependency injection: a request-scoped dependency against the same object built by hand."""

from __future__ import annotations

from bench.harness.context import WORK, Context
from bench.harness.interleave import SLICE_SECONDS, interleaved, slices
from bench.harness.lbt import lbt_env, missing_server
from bench.harness.load import LoadResult, h2load
from bench.harness.procs import ServerProcess, free_port, run_worker
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from bench.scenarios.grpc_unary import FRAME

__all__ = ["SCENARIO"]

CONCURRENCY = 16
SCOPED, BY_HAND = "PingScoped", "PingByHand"


def _micro(ctx: Context, result: ScenarioResult) -> None:
    di: list[float] = []
    hand: list[float] = []
    for _ in range(ctx.repeats):
        data = run_worker(ctx, "bench.workers.di_resolve")
        di.append(data["di_us"])
        hand.append(data["hand_us"])
        ctx.log(f"di: {data['di_us']:.2f} us through DI, {data['hand_us']:.2f} us by hand")
    row = Row(
        scenario="di",
        variant="resolved in a request scope (dishka), per request",
        baseline="built by hand in the handler",
        value=Summary.of(di),
        baseline_value=Summary.of(hand),
        unit="µs",
        higher_is_better=False,
    )
    result.rows.append(row)
    assert row.baseline_value is not None
    added = row.value.median - row.baseline_value.median
    result.notes.append(
        f"Resolving through DI adds {added:.1f} µs per request that asks for a "
        "request-scoped dependency (entering the request scope, resolving, closing it); "
        "calls that ask for none do not open a scope and pay nothing."
    )


def _end_to_end(ctx: Context, result: ScenarioResult) -> None:
    reason = missing_server("grpc", ctx.python)
    if reason is not None:
        result.notes.append(f"The end-to-end gRPC comparison is left out: {reason}.")
        return
    port = free_port()
    env = lbt_env(grpc_port=port, http_port=free_port(), probes_port=free_port())
    body = WORK / "ping.grpc"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_bytes(FRAME)
    samples: dict[str, list[float]] = {SCOPED: [], BY_HAND: []}
    turn_ratios: list[float] = []

    def load(method: str, duration: float = SLICE_SECONDS) -> LoadResult:
        return h2load(
            ctx,
            f"http://127.0.0.1:{port}/benchsvc.Bench/{method}",
            body=body,
            concurrency=CONCURRENCY,
            duration=duration,
            warmup=0,
            min_data_per_request=len(FRAME),
        )

    server = ServerProcess(
        ctx, "di lbtoolkit", "bench.servers.lbt_service", args=(), port=port, env=env
    )
    with server:
        for method in samples:
            load(method, max(1.0, ctx.warmup))
        for repeat in range(ctx.repeats):
            turns = interleaved(list(samples), slices(ctx.duration), load, reverse=repeat % 2 == 1)
            rates = turns.rates
            turn_ratios += turns.ratios(SCOPED, BY_HAND)
            for method, rate in rates.items():
                samples[method].append(rate)
            ctx.log(f"di grpc: {', '.join(f'{m} {r:,.0f} req/s' for m, r in rates.items())}")
    scoped, by_hand = Summary.of(samples[SCOPED]).median, Summary.of(samples[BY_HAND]).median
    result.notes.append(
        f"End to end the resolution costs {(1 / scoped - 1 / by_hand) * 1e6:.1f} µs of server "
        f"time per call ({1e6 / by_hand:.0f} µs per call by hand, from the medians)."
    )
    result.rows.append(
        Row(
            scenario="di",
            variant=f"gRPC handler resolving it (`context.get`), concurrency {CONCURRENCY}",
            baseline=f"gRPC handler building it by hand, concurrency {CONCURRENCY}",
            value=Summary.of(samples[SCOPED]),
            baseline_value=Summary.of(samples[BY_HAND]),
            unit="req/s",
            higher_is_better=True,
            turn_ratios=tuple(turn_ratios),
        )
    )


def run(ctx: Context, result: ScenarioResult) -> None:
    _micro(ctx, result)
    _end_to_end(ctx, result)


SCENARIO = Scenario(
    name="di",
    title="Dependency injection per request",
    description=(
        "A request-scoped dependency (built from an app-scoped config) obtained through "
        "the service's container, against the same object built by hand. In process: "
        "microseconds per request over 20,000 calls, best of 5 alternating blocks per "
        "process. End to end: two methods of the lbtoolkit gRPC service that differ only "
        "in that (`await context.get(RequestState)` against `RequestState(config)`), "
        f"driven by h2load at {CONCURRENCY} concurrent streams."
    ),
    run=run,
    budget=40,
)
