"""Server-Sent Events: messages per second of one stream, lbtoolkit against raw Starlette.

lbtoolkit serves a server-streaming method over HTTP (transcoding, validation,
proto3 JSON per message, the stream's cancellation and deadline machinery);
the baseline is Starlette's ``StreamingResponse`` over an async generator
writing the same ``data:`` events with ``json.dumps``. Both run on uvicorn in
a process of their own; the client reads whole streams of ``MESSAGES`` events
over a raw socket, one stream at a time, the two servers in turns.

Usage of the servers: ``python -m bench.scenarios.sse lbtoolkit|starlette PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from bench.harness.context import Context
from bench.harness.procs import ServerProcess, free_port
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary

__all__ = ["SCENARIO"]

LBT, STARLETTE = "lbtoolkit", "raw Starlette"
TARGET = 0.9
MESSAGES = 20_000  # events per stream
SELECTOR = "tick"  # what each event carries: {"selector":"tick"}
_END_OF_CHUNKS = b"0\r\n\r\n"


def _read_stream(port: int, count: int) -> tuple[int, float]:
    """Read one whole stream; the events it held and the seconds it took."""
    request = (
        f"GET /v1/ticks/{count} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            received += chunk
            if received.endswith(_END_OF_CHUNKS):
                break
    elapsed = time.perf_counter() - started
    return received.count(b"data: "), elapsed


def _rate(port: int, duration: float) -> float:
    """Events per second over whole streams read for about ``duration`` seconds."""
    events = 0
    spent = 0.0
    while spent < duration:
        got, elapsed = _read_stream(port, MESSAGES)
        if got != MESSAGES:
            msg = f"a stream of port {port} held {got} events, expected {MESSAGES}"
            raise RuntimeError(msg)
        events += got
        spent += elapsed
    return events / spent


def run(ctx: Context, result: ScenarioResult) -> None:
    servers = {label: free_port() for label in (LBT, STARLETTE)}
    samples: dict[str, list[float]] = {label: [] for label in servers}
    ratios: list[float] = []
    with contextlib.ExitStack() as stack:
        for label, port in servers.items():
            variant = "lbtoolkit" if label == LBT else "starlette"
            stack.enter_context(
                ServerProcess(
                    ctx, f"sse {label}", "bench.scenarios.sse", args=(variant, str(port)), port=port
                )
            )
            _rate(port, max(ctx.warmup, 0.5))
        for repeat in range(ctx.repeats):
            order = list(servers.items())
            if repeat % 2:
                order.reverse()
            rates = {label: _rate(port, ctx.duration / 2) for label, port in order}
            for label, rate in rates.items():
                samples[label].append(rate)
            ratios.append(rates[LBT] / rates[STARLETTE])
            ctx.log("sse: " + ", ".join(f"{k} {v:,.0f} events/s" for k, v in rates.items()))
    result.rows.append(
        Row(
            scenario="sse",
            variant=f"{LBT}, GET /v1/ticks/{{code}} (text/event-stream)",
            baseline=f"{STARLETTE} StreamingResponse",
            value=Summary.of(samples[LBT]),
            baseline_value=Summary.of(samples[STARLETTE]),
            unit="events/s",
            higher_is_better=True,
            target=TARGET,
            turn_ratios=tuple(ratios),
        )
    )


SCENARIO = Scenario(
    name="sse",
    title="HTTP server streaming (Server-Sent Events)",
    description=(
        f"Events per second of one stream of {MESSAGES:,} small messages read whole, "
        "lbtoolkit's server-streaming method over HTTP against a raw Starlette "
        "StreamingResponse, both on uvicorn."
    ),
    run=run,
    budget=60.0,
)


# --- the servers ---------------------------------------------------------------------------


def _serve_starlette(port: int) -> None:
    from starlette.applications import Starlette  # noqa: PLC0415 - server process only
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import StreamingResponse  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    from bench.servers.uvicorn_run import serve  # noqa: PLC0415

    async def ticks(request: Request) -> StreamingResponse:
        count = int(request.path_params["count"])

        async def events() -> AsyncIterator[bytes]:
            for _ in range(count):
                data = json.dumps({"selector": SELECTOR}, separators=(",", ":"))
                yield f"data: {data}\n\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")

    serve(Starlette(routes=[Route("/v1/ticks/{count}", ticks)]), port)


def _serve_lbtoolkit(port: int) -> None:
    # The messages are well-known and googleapis types, so no code generation is needed:
    # the request's path variable is a google.rpc.Status's code, each reply an HttpRule.
    from google.api.http_pb2 import HttpRule as Reply  # type: ignore[import-untyped]  # noqa: PLC0415
    from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]  # noqa: PLC0415

    from lbtoolkit._di import Injector  # noqa: PLC0415
    from lbtoolkit.config import ConfigController  # noqa: PLC0415
    from lbtoolkit.server.http import HttpServer  # noqa: PLC0415
    from lbtoolkit.spec import (  # noqa: PLC0415
        HttpRule,
        MethodSpec,
        PathTemplate,
        ServerKind,
        ServiceSpec,
    )
    from lbtoolkit.tools import Tools  # noqa: PLC0415

    class Ticker:
        async def ticks(self, request: Any, context: Any) -> AsyncIterator[Any]:
            del context
            for _ in range(request.code):
                yield Reply(selector=SELECTOR)

    path = "/v1/ticks/{code}"
    method = MethodSpec(
        name="Ticks",
        handler="ticks",
        grpc_path="/bench.Ticker/Ticks",
        request_type=Status,
        response_type=Reply,
        server_streaming=True,
        http_rules=(HttpRule("GET", path, PathTemplate.parse(path), "", ""),),
    )
    spec = ServiceSpec(
        name="Ticker",
        full_name="bench.Ticker",
        servers=(ServerKind.HTTP,),
        methods=(method,),
        rpc_server=Ticker,
    )

    async def main() -> None:
        environ = {"LBB_SSE_SERVER_LISTEN": "127.0.0.1", "LBB_SSE_SERVER_PORT": str(port)}
        config = ConfigController("LBB", environ=environ)
        injector = Injector()
        server = HttpServer(
            "sse", runtime_config=config, tools=Tools("sse", "lbb"), injector=injector
        )
        config.raise_for_issues()
        injector.provide_value(Ticker(), provides=Ticker)
        server.add_service(spec)
        await server.prepare(injector.build())
        await server.start()
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop(1.0)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


if __name__ == "__main__":
    variant, port_text = sys.argv[1], sys.argv[2]
    {"lbtoolkit": _serve_lbtoolkit, "starlette": _serve_starlette}[variant](int(port_text))
