"""gRPC unary, tiny message: the lbtoolkit service against a bare grpc.aio server.

The target is on calls per server CPU-second, as in ``peers``: what a call
costs the server is what its code decides, while the wall-clock rates of two
identical servers drift apart on a busy machine by more than the gap measured.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import partial

import grpc

from bench.harness.context import WORK, Context
from bench.harness.cpu import cpu_seconds, per_cpu_second
from bench.harness.interleave import SLICE_SECONDS, interleaved, slices
from bench.harness.lbt import lbt_env, missing_server
from bench.harness.load import LoadResult, h2load
from bench.harness.procs import ServerProcess, free_port
from bench.harness.profile import describe, profile_path, profile_server
from bench.harness.results import Row, ScenarioResult, throughput_rows
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary

__all__ = ["SCENARIO"]

CONCURRENCY = (1, 16, 64)
TARGET = 0.95
PATH = "/benchsvc.Bench/Ping"
# PingRequest(message="hello") and its gRPC frame (no compression, 4-byte length).
PING = b"\n\x05hello"
FRAME = b"\x00" + len(PING).to_bytes(4, "big") + PING

RAW = "raw grpc.aio"
LBT = "lbtoolkit"


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity
class _Server:
    label: str
    module: str
    args: tuple[str, ...]
    port: int
    env: dict[str, str]
    extra_ports: tuple[int, ...] = ()

    def process(self, ctx: Context, env: dict[str, str] | None = None) -> ServerProcess:
        return ServerProcess(
            ctx,
            f"grpc {self.label}",
            self.module,
            args=self.args,
            port=self.port,
            env={**self.env, **(env or {})},
            ports=self.extra_ports,
        )


def _servers(ctx: Context, result: ScenarioResult) -> list[_Server]:
    raw_port = free_port()
    servers = [_Server(RAW, "bench.servers.raw_grpc", (str(raw_port),), raw_port, {})]
    reason = missing_server("grpc", ctx.python)
    if reason is not None:
        result.notes.append(f"The lbtoolkit variant is left out: {reason}.")
        return servers
    port, http, probes = free_port(), free_port(), free_port()
    env = lbt_env(grpc_port=port, http_port=http, probes_port=probes)
    servers.append(_Server(LBT, "bench.servers.lbt_service", (), port, env))
    return servers


def check_ping(port: int) -> None:
    """One call through a real gRPC client: the server answers with the message."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(PATH)
        answer = call(PING, timeout=10)
    if answer != PING:
        msg = f"unexpected answer from 127.0.0.1:{port}: {answer!r}"
        raise RuntimeError(msg)


def _load(ctx: Context, server: _Server, concurrency: int, duration: float) -> LoadResult:
    body = WORK / "ping.grpc"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_bytes(FRAME)
    return h2load(
        ctx,
        f"http://127.0.0.1:{server.port}{PATH}",
        body=body,
        concurrency=concurrency,
        duration=duration,
        warmup=0,
        min_data_per_request=len(FRAME),
    )


def _slice(
    ctx: Context,
    server: _Server,
    *,
    concurrency: int,
    pids: dict[_Server, list[int]],
    per_cpu: dict[tuple[str, int], list[float]],
) -> LoadResult:
    """One measured slice; the server's CPU time around it gives its calls per CPU-second."""
    before = cpu_seconds(pids[server])
    load = _load(ctx, server, concurrency, SLICE_SECONDS)
    spent = cpu_seconds(pids[server]) - before
    per_cpu.setdefault((server.label, concurrency), []).append(per_cpu_second(load.requests, spent))
    return load


def run(ctx: Context, result: ScenarioResult) -> None:
    servers = _servers(ctx, result)
    samples: dict[tuple[str, int], list[float]] = {}
    per_cpu: dict[tuple[str, int], list[float]] = {}
    turn_ratios: dict[int, list[float]] = {}
    pids: dict[_Server, list[int]] = {}
    with contextlib.ExitStack() as stack:
        for server in servers:
            started = stack.enter_context(server.process(ctx)).process
            assert started is not None
            pids[server] = [started.pid]
            check_ping(server.port)
            _load(ctx, server, max(CONCURRENCY), max(1.0, ctx.warmup))
        for concurrency in CONCURRENCY:
            for repeat in range(ctx.repeats):
                turns = interleaved(
                    servers,
                    slices(ctx.duration),
                    partial(_slice, ctx, concurrency=concurrency, pids=pids, per_cpu=per_cpu),
                    reverse=repeat % 2 == 1,
                )
                rates = turns.rates
                for server, rate in rates.items():
                    samples.setdefault((server.label, concurrency), []).append(rate)
                if len(servers) > 1:  # the baseline, then lbtoolkit
                    raw, lbt = servers
                    turn_ratios.setdefault(concurrency, []).extend(turns.ratios(lbt, raw))
                ctx.log(
                    f"grpc c={concurrency}: "
                    + ", ".join(f"{s.label} {r:,.0f} req/s" for s, r in rates.items())
                )
    if len(servers) < 2:
        # The baseline alone, for the record.
        result.rows += [
            Row(
                scenario="grpc_unary",
                variant=f"{RAW}, concurrency {concurrency}",
                baseline=None,
                value=Summary.of(samples[RAW, concurrency]),
                baseline_value=None,
                unit="req/s",
                higher_is_better=True,
            )
            for concurrency in CONCURRENCY
        ]
        return
    targeted: list[tuple[Row, int]] = []
    for concurrency in CONCURRENCY:
        rows = throughput_rows(
            "grpc_unary",
            f"{LBT}, concurrency {concurrency}",
            f"{RAW}, concurrency {concurrency}",
            rates=(samples[LBT, concurrency], samples[RAW, concurrency]),
            rate_ratios=turn_ratios[concurrency],
            per_cpu=(per_cpu[LBT, concurrency], per_cpu[RAW, concurrency]),
            unit="req",
            whose_cpu="server",
            target=TARGET,
        )
        result.rows += rows
        targeted.append((rows[-1], concurrency))
    missed = [(row.ratio or 0.0, c) for row, c in targeted if row.met is False]
    if missed and ctx.profile:
        _, worst = min(missed)
        profiles = {}
        for server in servers:
            base = profile_path(f"grpc-{server.label}-c{worst}")
            with server.process(ctx, {"BENCH_PROFILE": str(base)}) as process:
                load = partial(_load, ctx, server, worst, ctx.duration)
                profiles[server.label] = profile_server(process, base, load)
        label = f"lbtoolkit against raw grpc.aio, concurrency {worst}"
        result.notes.append(describe(profiles[LBT], profiles[RAW], label=label))


SCENARIO = Scenario(
    name="grpc_unary",
    title="gRPC unary, tiny message",
    description=(
        "`Ping` with a 7-byte message, driven by h2load over h2c with 1, 16 and 64 "
        "calls in flight (1 connection; 16 connections; 16 connections of 4 streams). "
        "lbtoolkit: the generated service with its implementation written to the "
        "generated `BenchRpcServer` protocol (`async def ping(self, request, context)`), "
        "built through dependency injection (`app.server.set_service`), default "
        "interceptors, metrics on. Baseline: a bare `grpc.aio` server with the same "
        "handler, registered as protoc's generated `add_BenchServicer_to_server` does "
        "(generic handler plus registered method handlers)."
    ),
    run=run,
    budget=120,
)
