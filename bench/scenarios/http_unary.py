"""HTTP unary through REST transcoding: lbtoolkit against FastAPI and bare Starlette."""

from __future__ import annotations

import contextlib
import itertools
import json
import urllib.request
from dataclasses import dataclass
from functools import partial

from bench.harness.context import WORK, Context
from bench.harness.interleave import SLICE_SECONDS, interleaved, slices
from bench.harness.lbt import lbt_env, missing_server
from bench.harness.load import LoadResult, wrk
from bench.harness.procs import ServerProcess, free_port
from bench.harness.profile import describe, profile_path, profile_server
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary

__all__ = ["SCENARIO"]

CONNECTIONS = 64
LBT, FASTAPI, STARLETTE = "lbtoolkit", "FastAPI", "raw Starlette"
TARGETS = {FASTAPI: 1.5, STARLETTE: 0.9}

CREATE_BODY = {"name": "widget", "quantity": 3, "tags": ["a", "b"]}
CREATED = {"id": "item-1", "name": "widget", "quantity": 3, "tags": ["a", "b"]}
GOT = {"id": "item-42", "name": "widget", "quantity": 3, "tags": ["a", "b"]}


@dataclass(frozen=True, slots=True)
class _Endpoint:
    label: str
    path: str
    body: dict[str, object] | None
    expected: dict[str, object]

    def script(self) -> str | None:
        if self.body is None:
            return None
        body = json.dumps(self.body, separators=(",", ":"))
        return (
            'wrk.method = "POST"\n'
            f"wrk.body = '{body}'\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )


ENDPOINTS = (
    _Endpoint('POST /v1/items (body: "*")', "/v1/items", CREATE_BODY, CREATED),
    _Endpoint("GET /v1/items/{id}", "/v1/items/item-42", None, GOT),
)


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity
class _Server:
    label: str
    module: str
    args: tuple[str, ...]
    port: int
    env: dict[str, str]

    def process(self, ctx: Context, env: dict[str, str] | None = None) -> ServerProcess:
        label = f"http {self.label}"
        return ServerProcess(
            ctx, label, self.module, args=self.args, port=self.port, env=self.env | (env or {})
        )


def _servers(ctx: Context, result: ScenarioResult) -> list[_Server]:
    servers = []
    for label, module in ((STARLETTE, "raw_starlette"), (FASTAPI, "fastapi_app")):
        port = free_port()
        servers.append(_Server(label, f"bench.servers.{module}", (str(port),), port, {}))
    reason = missing_server("http", ctx.python)
    if reason is not None:
        result.notes.append(f"The lbtoolkit variant is left out: {reason}.")
        return servers
    port = free_port()
    env = lbt_env(grpc_port=free_port(), http_port=port, probes_port=free_port())
    # Only the HTTP server is measured here; the service's gRPC server stays off.
    env["LBB_BENCH_GRPC_SERVER_DISABLED"] = "true"
    servers.append(_Server(LBT, "bench.servers.lbt_service", (), port, env))
    return servers


def check(server: _Server, endpoint: _Endpoint) -> None:
    """One request through urllib: the answer is the JSON every variant must give."""
    data = None if endpoint.body is None else json.dumps(endpoint.body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{endpoint.path}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="GET" if data is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - ditto
        answer = json.loads(response.read())
    if answer != endpoint.expected:
        msg = f"{server.label} {endpoint.label}: {answer!r}, expected {endpoint.expected!r}"
        raise RuntimeError(msg)


def _load(
    ctx: Context,
    server: _Server,
    endpoint: _Endpoint,
    duration: float,
    connections: int = CONNECTIONS,
) -> LoadResult:
    script = endpoint.script()
    path = None
    if script is not None:
        path = WORK / "post.lua"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(script)
    url = f"http://127.0.0.1:{server.port}{endpoint.path}"
    return wrk(ctx, url, connections=connections, duration=duration, script=path)


def run(ctx: Context, result: ScenarioResult) -> None:
    servers = _servers(ctx, result)
    samples: dict[tuple[str, str], list[float]] = {}
    turn_ratios: dict[tuple[str, str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.enter_context(server.process(ctx))
            for endpoint in ENDPOINTS:
                check(server, endpoint)
                _load(ctx, server, endpoint, max(1.0, ctx.warmup))
        for endpoint in ENDPOINTS:
            for repeat in range(ctx.repeats):
                turns = interleaved(
                    servers,
                    slices(ctx.duration),
                    partial(_load, ctx, endpoint=endpoint, duration=SLICE_SECONDS),
                    reverse=repeat % 2 == 1,
                )
                rates = turns.rates
                for server, rate in rates.items():
                    samples.setdefault((server.label, endpoint.label), []).append(rate)
                for ours, theirs in itertools.permutations(servers, 2):
                    key = (ours.label, theirs.label, endpoint.label)
                    turn_ratios.setdefault(key, []).extend(turns.ratios(ours, theirs))
                ctx.log(
                    f"http {endpoint.label}: "
                    + ", ".join(f"{s.label} {r:,.0f} req/s" for s, r in rates.items())
                )
    labels = [s.label for s in servers]
    pairs = [(LBT, FASTAPI), (LBT, STARLETTE)] if LBT in labels else []
    pairs.append((FASTAPI, STARLETTE))
    for endpoint in ENDPOINTS:
        for variant, baseline in pairs:
            result.rows.append(
                Row(
                    scenario="http_unary",
                    variant=f"{variant}, {endpoint.label}",
                    baseline=f"{baseline}, {endpoint.label}",
                    value=Summary.of(samples[variant, endpoint.label]),
                    baseline_value=Summary.of(samples[baseline, endpoint.label]),
                    unit="req/s",
                    higher_is_better=True,
                    target=TARGETS[baseline] if variant == LBT else None,
                    turn_ratios=tuple(turn_ratios[variant, baseline, endpoint.label]),
                )
            )
    missed = {row.variant.split(", ", 1)[1] for row in result.rows if row.met is False}
    if missed and ctx.profile:
        _profile(ctx, result, servers, [e for e in ENDPOINTS if e.label in missed])


def _profile(
    ctx: Context, result: ScenarioResult, servers: list[_Server], endpoints: list[_Endpoint]
) -> None:
    by_label = {s.label: s for s in servers}
    for endpoint in endpoints:
        profiles = {}
        latency: dict[str, float | None] = {}
        for label in (LBT, STARLETTE):
            server = by_label[label]
            base = profile_path(f"http-{label}-{endpoint.label}")
            with server.process(ctx, {"BENCH_PROFILE": str(base)}) as process:
                load = partial(_load, ctx, server, endpoint, ctx.duration)
                profiles[label] = profile_server(process, base, load)
                latency[label] = _load(ctx, server, endpoint, 1.0, connections=1).p50_ms
        label = f"lbtoolkit against raw Starlette, {endpoint.label}"
        result.notes.append(describe(profiles[LBT], profiles[STARLETTE], label=label))
        note = _latency_note(endpoint, latency[LBT], latency[STARLETTE])
        if _NAGLE in "".join(result.notes):
            note = note.replace(_NAGLE, " The same delayed-ACK stall as above.")
        result.notes.append(note)


def _latency_note(endpoint: _Endpoint, ours: float | None, raw: float | None) -> str:
    if ours is None or raw is None:
        return f"{endpoint.label}: latency at one connection not measured."
    text = (
        f"{endpoint.label}, one connection at a time: median latency {ours:.2f} ms for "
        f"lbtoolkit against {raw:.2f} ms for raw Starlette."
    )
    if _DELAYED_ACK[0] <= ours <= _DELAYED_ACK[1] and raw < _DELAYED_ACK[0] / 4:
        text += _NAGLE
    return text


_NAGLE = (
    " A constant ~40 ms with an idle server is the delayed-ACK stall of Nagle's "
    "algorithm: the response leaves in two writes (headers, then body) on a socket "
    "without TCP_NODELAY. asyncio sets TCP_NODELAY only on sockets whose protocol "
    "is IPPROTO_TCP, and a listening socket made by `socket.create_server` has "
    "protocol 0, so its connections keep Nagle on; the listening socket needs "
    "`setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)` (inherited by accepted sockets on "
    "Linux) or `socket.socket(family, SOCK_STREAM, IPPROTO_TCP)`."
)


# Latencies (ms) that, with an idle server, point to Nagle's algorithm meeting a delayed ACK.
_DELAYED_ACK = (35.0, 60.0)


SCENARIO = Scenario(
    name="http_unary",
    title="2. HTTP unary through REST transcoding",
    description=(
        f'`POST /v1/items` (`body: "*"`) and `GET /v1/items/{{id}}`, driven by wrk with '
        f"{CONNECTIONS} connections (HTTP/1.1 keep-alive). lbtoolkit: the generated service's "
        "HTTP server transcoding JSON to the protobuf request and the response back, the "
        "same implementation as gRPC. FastAPI: pydantic models equivalent to the messages. "
        "Raw Starlette: a JSON endpoint. All on uvicorn with its defaults (so the same "
        "HTTP parser, httptools), access log off."
    ),
    run=run,
    budget=110,
)
