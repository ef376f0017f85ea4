"""Two worker processes against one: gRPC and HTTP throughput of the same service.

Both variants are the bench service (``bench.servers.lbt_service``); the
second runs with ``LBB_WORKERS=2``, so a supervisor starts two workers that
listen on the same ports with ``SO_REUSEPORT``. Unlike the other scenarios,
servers and load generators share every CPU: pinned to one CPU, two workers
could only take turns on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial

from bench.harness.context import WORK, Context
from bench.harness.interleave import SLICE_SECONDS, interleaved, slices
from bench.harness.lbt import lbt_env, missing_server
from bench.harness.load import LoadResult, h2load, wrk
from bench.harness.procs import ServerProcess, free_port
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from bench.scenarios.grpc_unary import FRAME, PATH, check_ping

__all__ = ["SCENARIO"]

# Enough connections that the kernel spreads them over both workers.
GRPC_CONCURRENCY = 64  # 16 connections of 4 streams (h2load)
HTTP_CONNECTIONS = 64
HTTP_PATH = "/v1/items/item-42"
READY_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity
class _Server:
    workers: int
    grpc_port: int
    http_port: int
    probes_port: int

    @property
    def label(self) -> str:
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}"

    def process(self, ctx: Context) -> ServerProcess:
        env = lbt_env(
            grpc_port=self.grpc_port, http_port=self.http_port, probes_port=self.probes_port
        )
        env["LBB_WORKERS"] = str(self.workers)
        return ServerProcess(
            ctx,
            f"workers {self.label}",
            "bench.servers.lbt_service",
            args=(),
            port=self.grpc_port,
            env=env,
            ports=(self.http_port, self.probes_port),
        )


def _wait_ready(server: _Server) -> None:
    """Until the readiness probe says every worker is ready (the ports answer earlier)."""
    url = f"http://127.0.0.1:{server.probes_port}/_healthz/readiness"
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=5) as response,
        ):
            if response.status == 200:
                return
        if time.monotonic() > deadline:
            msg = f"{server.label}: not ready within {READY_TIMEOUT:g}s"
            raise RuntimeError(msg)
        time.sleep(0.1)


def _grpc_load(ctx: Context, server: _Server, duration: float) -> LoadResult:
    body = WORK / "ping.grpc"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_bytes(FRAME)
    return h2load(
        ctx,
        f"http://127.0.0.1:{server.grpc_port}{PATH}",
        body=body,
        concurrency=GRPC_CONCURRENCY,
        duration=duration,
        warmup=0,
        min_data_per_request=len(FRAME),
    )


def _http_load(ctx: Context, server: _Server, duration: float) -> LoadResult:
    url = f"http://127.0.0.1:{server.http_port}{HTTP_PATH}"
    return wrk(ctx, url, connections=HTTP_CONNECTIONS, duration=duration)


def run(ctx: Context, result: ScenarioResult) -> None:
    reason = missing_server("grpc", ctx.python)
    if reason is not None:
        result.notes.append(f"Left out: {reason}.")
        return
    every_cpu = frozenset(os.sched_getaffinity(0))
    shared = dataclasses.replace(ctx, server_cpus=every_cpu, load_cpus=every_cpu)
    servers = [_Server(workers, free_port(), free_port(), free_port()) for workers in (1, 2)]
    one, two = servers
    loads = {"gRPC": _grpc_load, "HTTP": _http_load}
    samples: dict[tuple[str, int], list[float]] = {}
    turn_ratios: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.enter_context(server.process(shared))
            _wait_ready(server)
            check_ping(server.grpc_port)
            for load in loads.values():
                load(shared, server, max(1.0, ctx.warmup))
        for transport, load in loads.items():
            for repeat in range(ctx.repeats):
                turns = interleaved(
                    servers,
                    slices(ctx.duration),
                    partial(load, shared, duration=SLICE_SECONDS),
                    reverse=repeat % 2 == 1,
                )
                for server, rate in turns.rates.items():
                    samples.setdefault((transport, server.workers), []).append(rate)
                turn_ratios.setdefault(transport, []).extend(turns.ratios(two, one))
                ctx.log(
                    f"workers {transport}: "
                    + ", ".join(f"{s.label} {r:,.0f} req/s" for s, r in turns.rates.items())
                )
    for transport in loads:
        result.rows.append(
            Row(
                scenario="workers",
                variant=f"{transport}, {two.label}",
                baseline=f"{transport}, {one.label}",
                value=Summary.of(samples[transport, 2]),
                baseline_value=Summary.of(samples[transport, 1]),
                unit="req/s",
                higher_is_better=True,
                turn_ratios=tuple(turn_ratios[transport]),
            )
        )
    result.notes.append(
        f"Servers and load generators share CPUs {','.join(map(str, sorted(every_cpu)))}: "
        "the load generator takes CPU time the second worker would use, so on a small "
        "machine the ratio understates what a second core gives a service driven from "
        "elsewhere."
    )


SCENARIO = Scenario(
    name="workers",
    title="Worker processes: 2 against 1",
    description=(
        "The bench service alone, then with `LBB_WORKERS=2` (a supervisor and two "
        f"worker processes sharing the ports with SO_REUSEPORT). gRPC: `Ping` by h2load, "
        f"{GRPC_CONCURRENCY} calls in flight over 16 connections; HTTP: `GET {HTTP_PATH}` "
        f"by wrk over {HTTP_CONNECTIONS} connections. Servers and load generators are not "
        "pinned apart: they share every CPU."
    ),
    run=run,
    budget=120,
)
