"""gRPC client calls: lbtoolkit's channel (resolver, balancing, interceptor, tracing) vs a stub.

Tracing is measured on both sides or on neither: an OpenTelemetry SDK span
costs the same whoever makes it, so lbtoolkit's traced calls are held against
a stub whose caller makes the same client span and passes its context on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio
from google.protobuf import wrappers_pb2
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from bench.harness.context import Context
from bench.harness.cpu import per_cpu_second
from bench.harness.interleave import SLICE_SECONDS, interleaved, slices
from bench.harness.load import LoadResult
from bench.harness.procs import ServerProcess, free_port
from bench.harness.results import Row, ScenarioResult, throughput_rows
from bench.harness.scenario import Scenario
from lbtoolkit.client import ChannelPool, GrpcChannel
from lbtoolkit.config import ConfigController
from lbtoolkit.tools import Tools

__all__ = ["SCENARIO"]

CONCURRENCY = (1, 16)
TARGET = 0.95
PATH = "/benchsvc.Bench/Ping"
Text = wrappers_pb2.StringValue  # field 1 string, as PingRequest: the server echoes it
PING = Text(value="hello")

RAW = "raw grpc.aio stub, same interceptor"
LBT = "lbtoolkit client"
RAW_TRACED = "raw grpc.aio stub, same interceptor, with a client span made by its caller"
LBT_TRACED = "lbtoolkit client, tracing on"
SIDES = (RAW, LBT, RAW_TRACED, LBT_TRACED)
# (variant, baseline, target): like against like; tracing against none is shown too.
PAIRS = ((LBT, RAW, TARGET), (LBT_TRACED, RAW_TRACED, TARGET), (LBT_TRACED, RAW, None))

Call = Callable[[], Any]


class PassThrough(grpc.aio.UnaryUnaryClientInterceptor):
    """An interceptor that only hands the call on: what the interceptor chain costs."""

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await continuation(client_call_details, request)


def _raw_channel(port: int) -> grpc.aio.Channel:
    # The interceptor lbtoolkit's side registers: grpc.aio's interceptor path costs alike.
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=[PassThrough()])


async def _raw(port: int) -> tuple[Call, Callable[[], Any]]:
    channel = _raw_channel(port)
    stub = channel.unary_unary(
        PATH, request_serializer=Text.SerializeToString, response_deserializer=Text.FromString
    )

    def call() -> Any:
        return stub(PING, timeout=15)

    return call, channel.close


async def _raw_traced(port: int) -> tuple[Call, Callable[[], Any]]:
    """The stub, each call in a client span whose context goes out in the metadata."""
    channel = _raw_channel(port)
    stub = channel.unary_unary(
        PATH, request_serializer=Text.SerializeToString, response_deserializer=Text.FromString
    )
    tracer = TracerProvider().get_tracer("bench")  # spans made and ended, exported nowhere
    service, _, method = PATH[1:].partition("/")
    # OpenTelemetry's RPC conventions, as lbtoolkit's client spans carry them.
    attributes = {
        "rpc.system": "grpc",
        "rpc.service": service,
        "rpc.method": method,
        "peer.service": "ping",
    }

    async def call() -> Any:
        span = tracer.start_span(PATH[1:], kind=SpanKind.CLIENT, attributes=attributes)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        code = grpc.StatusCode.OK
        try:
            answer = await stub(PING, timeout=15, metadata=tuple(carrier.items()))
        except grpc.aio.AioRpcError as error:
            code = error.code()
            span.set_status(Status(StatusCode.ERROR, code.name))
            raise
        finally:
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            span.end()
        return answer

    return call, channel.close


async def _lbt(port: int, *, traced: bool = False) -> tuple[Call, Callable[[], Any]]:
    # Three entries of one server: the resolver's list and round_robin, one process to load.
    env = {"BENCH_RESOLVER_ENDPOINTS": ",".join([f"ping=127.0.0.1:{port}"] * 3)}
    controller = ConfigController("BENCH", env)
    tools = Tools("bench", "bench")
    # Spans made and ended, exported nowhere; without, tracing is off (the default).
    tools.traces.use_provider(TracerProvider() if traced else None)
    pool = ChannelPool.configured(controller, environ=env, tools=tools)
    controller.raise_for_issues()
    pool.register_interceptor("pass-through", PassThrough())
    channel = pool.channel("ping")
    assert isinstance(channel, GrpcChannel)

    def call() -> Any:
        return channel.unary_unary(PATH, PING, Text)

    return call, pool.close


async def _lbt_traced(port: int) -> tuple[Call, Callable[[], Any]]:
    return await _lbt(port, traced=True)


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
    turn_ratios: dict[tuple[str, str, int], list[float]] = {}
    # Calls per CPU-second of this (the calling) process, one per slice in turn order.
    per_cpu: dict[tuple[str, int], list[float]] = {}
    server = ServerProcess(ctx, "grpc raw", "bench.servers.raw_grpc", args=(str(port),), port=port)
    with server, asyncio.Runner() as runner:
        calls: dict[str, Call] = {}
        closers: list[Callable[[], Any]] = []
        makers = {RAW: _raw, LBT: _lbt, RAW_TRACED: _raw_traced, LBT_TRACED: _lbt_traced}
        for label in SIDES:
            calls[label], close = runner.run(makers[label](port))
            closers.append(close)
        with contextlib.ExitStack() as stack:
            for close in closers:
                stack.callback(_closing(runner, close))
            for call in calls.values():
                runner.run(_drive(call, max(CONCURRENCY), max(1.0, ctx.warmup)))
            for concurrency in CONCURRENCY:
                for repeat in range(ctx.repeats):

                    def load(label: str, concurrency: int = concurrency) -> LoadResult:
                        before = time.process_time()
                        driven = runner.run(_drive(calls[label], concurrency, SLICE_SECONDS))
                        rate = per_cpu_second(driven.requests, time.process_time() - before)
                        per_cpu.setdefault((label, concurrency), []).append(rate)
                        return driven

                    turns = interleaved(SIDES, slices(ctx.duration), load, reverse=repeat % 2 == 1)
                    for label, rate in turns.rates.items():
                        samples.setdefault((label, concurrency), []).append(rate)
                    for ours, theirs, _ in PAIRS:
                        turn_ratios.setdefault((ours, theirs, concurrency), []).extend(
                            turns.ratios(ours, theirs)
                        )
                    ctx.log(
                        f"grpc client c={concurrency}: "
                        + ", ".join(f"{s} {r:,.0f} calls/s" for s, r in turns.rates.items())
                    )
    result.rows += _rows(samples, turn_ratios, per_cpu)


def _rows(
    samples: dict[tuple[str, int], list[float]],
    turn_ratios: dict[tuple[str, str, int], list[float]],
    per_cpu: dict[tuple[str, int], list[float]],
) -> list[Row]:
    """Calls per second, and per CPU-second of the calling process (the target on the latter)."""
    return [
        row
        for ours, theirs, target in PAIRS
        for concurrency in CONCURRENCY
        for row in throughput_rows(
            "grpc_client",
            f"{ours}, concurrency {concurrency}",
            f"{theirs}, concurrency {concurrency}",
            rates=(samples[ours, concurrency], samples[theirs, concurrency]),
            rate_ratios=turn_ratios[ours, theirs, concurrency],
            per_cpu=(per_cpu[ours, concurrency], per_cpu[theirs, concurrency]),
            unit="calls",
            whose_cpu="client",
            target=target,
        )
    ]


SCENARIO = Scenario(
    name="grpc_client",
    title="gRPC client calls, tiny message",
    description=(
        "Unary `Ping` calls from one asyncio process to a bare `grpc.aio` server, with 1 "
        "and 16 calls in flight. lbtoolkit: `app.client`'s channel to a service resolved "
        "through `RESOLVER_ENDPOINTS` (three entries, `round_robin`), a pass-through "
        "interceptor registered, client metrics, the default deadline and retry policy; "
        "tracing off, as by default, and on (an OpenTelemetry SDK provider, no exporter). "
        "Baseline: a `grpc.aio` multicallable, as protoc's generated stub makes it, on a "
        "channel with the same pass-through interceptor; against traced calls, the same "
        "stub with the client span its caller would make (the same SDK and attributes, its "
        "context injected into the metadata), since the SDK's span costs the same whoever "
        "makes it. All four take one-second slices in turns; the calling process's CPU time "
        "around each slice gives calls per client CPU-second, which carry the targets (the "
        "server is the same bare one for every side, so what differs is the caller's work)."
    ),
    run=run,
    budget=120,
)
