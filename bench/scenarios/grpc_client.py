"""gRPC client calls: lbtoolkit's channel (resolver, balancing, interceptor, tracing) vs a stub."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
from google.protobuf import wrappers_pb2
from opentelemetry.sdk.trace import TracerProvider

from bench.harness.context import Context
from bench.harness.interleave import SLICE_SECONDS, interleaved, slices
from bench.harness.load import LoadResult
from bench.harness.procs import ServerProcess, free_port
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from lbtoolkit.client import ChannelPool, GrpcChannel
from lbtoolkit.config import ConfigController
from lbtoolkit.tools import Tools

__all__ = ["SCENARIO"]

CONCURRENCY = (1, 16)
TARGET = 0.95
PATH = "/benchsvc.Bench/Ping"
Text = wrappers_pb2.StringValue  # field 1 string, as PingRequest: the server echoes it
PING = Text(value="hello")

RAW = "raw grpc.aio stub"
LBT = "lbtoolkit client"

Call = Callable[[], Any]


class PassThrough(grpc.aio.UnaryUnaryClientInterceptor):
    """An interceptor that only hands the call on: what the interceptor chain costs."""

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await continuation(client_call_details, request)


async def _raw(port: int) -> tuple[Call, Callable[[], Any]]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = channel.unary_unary(
        PATH, request_serializer=Text.SerializeToString, response_deserializer=Text.FromString
    )

    def call() -> Any:
        return stub(PING, timeout=15)

    return call, channel.close


async def _lbt(port: int) -> tuple[Call, Callable[[], Any]]:
    # Three entries of one server: the resolver's list and round_robin, one process to load.
    env = {"BENCH_RESOLVER_ENDPOINTS": ",".join([f"ping=127.0.0.1:{port}"] * 3)}
    controller = ConfigController("BENCH", env)
    tools = Tools("bench", "bench")
    tools.traces.use_provider(TracerProvider())  # spans made and ended, exported nowhere
    pool = ChannelPool.configured(controller, environ=env, tools=tools)
    controller.raise_for_issues()
    pool.register_interceptor("pass-through", PassThrough())
    channel = pool.channel("ping")
    assert isinstance(channel, GrpcChannel)

    def call() -> Any:
        return channel.unary_unary(PATH, PING, Text)

    return call, pool.close


async def _drive(call: Call, concurrency: int, seconds: float) -> LoadResult:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            answer = await call()
            if answer.value != "hello":
                msg = f"unexpected answer: {answer!r}"
                raise RuntimeError(msg)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return LoadResult(done / elapsed, done, None)


def _closing(runner: asyncio.Runner, close: Callable[[], Any]) -> Callable[[], None]:
    def closing() -> None:
        runner.run(close())

    return closing


def run(ctx: Context, result: ScenarioResult) -> None:
    port = free_port()
    samples: dict[tuple[str, int], list[float]] = {}
    turn_ratios: dict[int, list[float]] = {}
    server = ServerProcess(ctx, "grpc raw", "bench.servers.raw_grpc", args=(str(port),), port=port)
    with server, asyncio.Runner() as runner:
        calls: dict[str, Call] = {}
        closers: list[Callable[[], Any]] = []
        for label, make in ((RAW, _raw), (LBT, _lbt)):
            calls[label], close = runner.run(make(port))
            closers.append(close)
        with contextlib.ExitStack() as stack:
            for close in closers:
                stack.callback(_closing(runner, close))
            for call in calls.values():
                runner.run(_drive(call, max(CONCURRENCY), max(1.0, ctx.warmup)))
            for concurrency in CONCURRENCY:
                for repeat in range(ctx.repeats):

                    def load(label: str, concurrency: int = concurrency) -> LoadResult:
                        return runner.run(_drive(calls[label], concurrency, SLICE_SECONDS))

                    turns = interleaved(
                        [RAW, LBT], slices(ctx.duration), load, reverse=repeat % 2 == 1
                    )
                    for label, rate in turns.rates.items():
                        samples.setdefault((label, concurrency), []).append(rate)
                    turn_ratios.setdefault(concurrency, []).extend(turns.ratios(LBT, RAW))
                    ctx.log(
                        f"grpc client c={concurrency}: "
                        + ", ".join(f"{s} {r:,.0f} calls/s" for s, r in turns.rates.items())
                    )
    for concurrency in CONCURRENCY:
        result.rows.append(
            Row(
                scenario="grpc_client",
                variant=f"{LBT}, concurrency {concurrency}",
                baseline=f"{RAW}, concurrency {concurrency}",
                value=Summary.of(samples[LBT, concurrency]),
                baseline_value=Summary.of(samples[RAW, concurrency]),
                unit="calls/s",
                higher_is_better=True,
                target=TARGET,
                turn_ratios=tuple(turn_ratios[concurrency]),
            )
        )


SCENARIO = Scenario(
    name="grpc_client",
    title="gRPC client calls, tiny message",
    description=(
        "Unary `Ping` calls from one asyncio process to a bare `grpc.aio` server, with 1 "
        "and 16 calls in flight. lbtoolkit: `app.client`'s channel to a service resolved "
        "through `RESOLVER_ENDPOINTS` (three entries, `round_robin`), a pass-through "
        "interceptor registered, tracing on (an SDK provider, no exporter), client metrics, "
        "the default deadline and retry policy. Baseline: a `grpc.aio` multicallable on a "
        "plain channel, as protoc's generated stub makes it."
    ),
    run=run,
    budget=90,
)
