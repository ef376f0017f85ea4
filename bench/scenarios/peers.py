"""lbtoolkit against other Python frameworks: HTTP, gRPC, RabbitMQ, and a hello service's start."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import signal
import statistics
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from bench.harness.context import ROOT, WORK, Context, python_env
from bench.harness.cpu import (
    ANONYMOUS,
    cpu_seconds,
    descendants,
    per_cpu_second,
    resident_by_mapping,
    rss_mib,
)
from bench.harness.interleave import SLICE_SECONDS, interleaved
from bench.harness.lbt import lbt_env, missing_server
from bench.harness.load import LoadResult, h2load, wrk
from bench.harness.procs import ServerProcess, free_port, pin, run_worker
from bench.harness.profile import describe, profile_path, profile_server
from bench.harness.results import Row, ScenarioResult, throughput_rows
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from bench.scenarios.grpc_unary import FRAME, PATH, check_ping

if TYPE_CHECKING:
    from pathlib import Path

    from bench.harness.interleave import Turns

__all__ = ["SCENARIO"]

# module -> the requirement of the `bench` dependency group that provides it
REQUIRED = {
    "fastapi": "fastapi",
    "litestar": "litestar",
    "msgspec": "msgspec (a dependency of litestar)",
    "blacksheep": "blacksheep",
    "granian": "granian",
    "grpclib": "grpclib",
    "faststream": "faststream[rabbit]",
}

LBT = "lbtoolkit"
HTTP_CONNECTIONS = 64
GRPC_CONCURRENCY = 16
# Turns of one-second slices per endpoint: ten HTTP servers take turns, so the
# scenario stays within its budget with fewer turns than the two-sided scenarios.
MIN_TURNS = 2
RABBIT_SECONDS = 2.0  # per side, publishing
RABBIT_BATCHES = 3  # consumed batches per side
UVICORN, GRANIAN = "uvicorn", "granian"
ENGINES = (UVICORN, GRANIAN)
DEFAULT_ENGINE = UVICORN  # lbtoolkit's HttpServerConfig.engine default
# label -> module serving the app on uvicorn (``module:app`` is the ASGI app for granian)
HTTP_PEERS = {
    "raw Starlette": "bench.servers.raw_starlette",
    "FastAPI": "bench.servers.fastapi_app",
    "Litestar": "bench.servers.peer_litestar",
    "BlackSheep": "bench.servers.peer_blacksheep",
}
RAW_STARLETTE = "raw Starlette"
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


GET, POST = "GET /v1/items/{id}", 'POST /v1/items (body: "*")'
ENDPOINTS = (
    _Endpoint(POST, "/v1/items", CREATE_BODY, CREATED),
    _Endpoint(GET, "/v1/items/item-42", None, GOT),
)


GRPC_AIO, GRPCLIB = "raw grpc.aio", "grpclib"
GRPC_TARGETS = {GRPC_AIO: 0.97}
RABBIT_TARGET = 1.2
HELLO_TARGETS = {"RSS": 1.0, "cold start": 1.0}


def missing_packages() -> list[str]:
    """The peers' requirements that are not installed in this interpreter."""
    return [req for module, req in REQUIRED.items() if importlib.util.find_spec(module) is None]


def _http_target(endpoint: str, engine: str, peer: str, peer_engine: str) -> float | None:
    """The ratio lbtoolkit on ``engine`` must reach against ``peer`` on ``peer_engine``."""
    if peer_engine != engine:
        return None  # shown, so that the engines compare, but no target across them
    if peer == "FastAPI":
        return 1.5
    if endpoint == GET and peer == RAW_STARLETTE and engine == DEFAULT_ENGINE:
        return 1.5
    return 1.0  # ahead of every other peer on the same engine


@dataclass(eq=False)  # hashed by identity
class _Server:
    """A server under load; records its CPU time per slice."""

    label: str
    process: ServerProcess
    engine: str = UVICORN
    peer: str = LBT
    pids: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.process.port

    def start(self, stack: contextlib.ExitStack) -> None:
        stack.enter_context(self.process)
        assert self.process.process is not None
        # granian serves from a worker process: its time counts too.
        self.pids = descendants(self.process.process.pid)

    def measured(self, load: LoadResult, before: float) -> LoadResult:
        self.cpu.append(cpu_seconds(self.pids) - before)
        self.requests.append(load.requests)
        return load


def _lbt_http(ctx: Context, engine: str, extra: dict[str, str] | None = None) -> ServerProcess:
    port = free_port()
    env = lbt_env(grpc_port=free_port(), http_port=port, probes_port=free_port())
    env["LBB_BENCH_GRPC_SERVER_DISABLED"] = "true"  # the HTTP server alone
    env["LBB_BENCH_SERVER_ENGINE"] = engine
    label = f"peers http {LBT} on {engine}"
    return ServerProcess(
        ctx, label, "bench.servers.lbt_service", args=(), port=port, env=env | (extra or {})
    )


def _peer_http(
    ctx: Context, peer: str, engine: str, extra: dict[str, str] | None = None
) -> ServerProcess:
    module, port = HTTP_PEERS[peer], free_port()
    label = f"peers http {peer} on {engine}"
    if engine == UVICORN:
        return ServerProcess(ctx, label, module, args=(str(port),), port=port, env=extra)
    args = (
        *("--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", "--no-ws", "--log-level", "warning", f"{module}:app"),
    )
    return ServerProcess(ctx, label, "granian", args=args, port=port, env=extra)


def _http_servers(ctx: Context, result: ScenarioResult) -> list[_Server]:
    servers = []
    reason = missing_server("http", ctx.python)
    if reason is not None:
        result.notes.append(f"The lbtoolkit HTTP variant is left out: {reason}.")
    else:
        servers += [
            _Server(f"{LBT} on {engine}", _lbt_http(ctx, engine), engine) for engine in ENGINES
        ]
    for peer in HTTP_PEERS:
        servers += [
            _Server(f"{peer} on {engine}", _peer_http(ctx, peer, engine), engine, peer)
            for engine in ENGINES
        ]
    return servers


def check(port: int, label: str, endpoint: _Endpoint) -> None:
    """One request through urllib: the answer is the JSON every server must give."""
    data = None if endpoint.body is None else json.dumps(endpoint.body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{endpoint.path}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="GET" if data is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        answer = json.loads(response.read())
    if answer != endpoint.expected:
        msg = f"{label} {endpoint.label}: {answer!r}, expected {endpoint.expected!r}"
        raise RuntimeError(msg)


def _wrk_script(endpoint: _Endpoint) -> Path | None:
    """The wrk script of an endpoint (its method and body) in a file, if it needs one."""
    text = endpoint.script()
    if text is None:
        return None
    path = WORK / "peers-post.lua"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _http_load(
    ctx: Context, port: int, endpoint: _Endpoint, duration: float, connections: int
) -> LoadResult:
    url = f"http://127.0.0.1:{port}{endpoint.path}"
    return wrk(ctx, url, connections=connections, duration=duration, script=_wrk_script(endpoint))


def _http_slice(ctx: Context, server: _Server, endpoint: _Endpoint) -> LoadResult:
    before = cpu_seconds(server.pids)
    load = _http_load(ctx, server.port, endpoint, SLICE_SECONDS, HTTP_CONNECTIONS)
    return server.measured(load, before)


def _turns(ctx: Context) -> int:
    return max(MIN_TURNS, ctx.repeats)


def _rows_pair(
    name: str,
    ours: _Server,
    theirs: _Server,
    turns: Turns[_Server],
    *,
    what: str,
    target: float | None,
) -> list[Row]:
    """Requests per second, and per CPU-second of the server (``target`` on the latter)."""
    slices_ours, slices_theirs = turns.slices[ours], turns.slices[theirs]
    return throughput_rows(
        name,
        f"{ours.label}, {what}",
        f"{theirs.label}, {what}",
        rates=(slices_ours, slices_theirs),
        rate_ratios=turns.ratios(ours, theirs),
        per_cpu=(_per_cpu(ours, len(slices_ours)), _per_cpu(theirs, len(slices_theirs))),
        unit="req",
        whose_cpu="server",
        target=target,
    )


def _per_cpu(server: _Server, count: int) -> list[float]:
    """Requests per server CPU-second of each of the last ``count`` slices."""
    pairs = zip(server.requests[-count:], server.cpu[-count:], strict=True)
    return [per_cpu_second(requests, seconds) for requests, seconds in pairs]


def _http(ctx: Context, result: ScenarioResult) -> None:
    servers = _http_servers(ctx, result)
    missed: set[tuple[str, str]] = set()  # (engine, endpoint) where lbtoolkit missed a target
    with contextlib.ExitStack() as stack:
        for server in servers:
            server.start(stack)
            for endpoint in ENDPOINTS:
                check(server.port, server.label, endpoint)
                _http_load(ctx, server.port, endpoint, max(0.5, ctx.warmup / 2), HTTP_CONNECTIONS)
        for endpoint in ENDPOINTS:
            turns = interleaved(servers, _turns(ctx), partial(_http_slice, ctx, endpoint=endpoint))
            ctx.log(
                f"peers http {endpoint.label}: "
                + ", ".join(
                    f"{s.label} {turns.rates[s]:,.0f} req/s "
                    f"{statistics.median(_per_cpu(s, len(turns.slices[s]))):,.0f} req/CPU-s"
                    for s in servers
                )
            )
            for ours in (s for s in servers if s.peer == LBT):
                for theirs in (s for s in servers if s.peer != LBT):
                    target = _http_target(endpoint.label, ours.engine, theirs.peer, theirs.engine)
                    rows = _rows_pair(
                        "peers", ours, theirs, turns, what=endpoint.label, target=target
                    )
                    result.rows += rows
                    if any(row.met is False for row in rows):
                        missed.add((ours.engine, endpoint.label))
    if missed and ctx.profile:
        _profile(ctx, result, sorted(missed))


def _profile(ctx: Context, result: ScenarioResult, missed: list[tuple[str, str]]) -> None:
    """Where lbtoolkit's time goes next to raw Starlette's, on uvicorn, per missed endpoint.

    Only processes of this suite's own servers can be profiled (``bench/servers/profiling.py``),
    so the reference is raw Starlette on uvicorn whichever engine missed.
    """
    by_label = {endpoint.label: endpoint for endpoint in ENDPOINTS}
    for engine, label in missed:
        endpoint = by_label[label]
        profiles = {}
        for side in (LBT, RAW_STARLETTE):
            base = profile_path(f"peers-http-{side}-{engine}-{label}")
            extra = {"BENCH_PROFILE": str(base)}
            process = (
                _lbt_http(ctx, engine, extra)
                if side == LBT
                else _peer_http(ctx, RAW_STARLETTE, UVICORN, extra)
            )
            with process:
                load = partial(
                    _http_load, ctx, process.port, endpoint, ctx.duration, HTTP_CONNECTIONS
                )
                profiles[side] = profile_server(process, base, load)
        result.notes.append(
            describe(
                profiles[LBT],
                profiles[RAW_STARLETTE],
                label=f"lbtoolkit on {engine} against raw Starlette on uvicorn, {label}",
            )
        )


def _grpc_servers(ctx: Context, result: ScenarioResult) -> list[_Server]:
    servers = []
    reason = missing_server("grpc", ctx.python)
    if reason is not None:
        result.notes.append(f"The lbtoolkit gRPC variant is left out: {reason}.")
    else:
        port = free_port()
        env = lbt_env(grpc_port=port, http_port=free_port(), probes_port=free_port())
        process = ServerProcess(
            ctx, f"peers grpc {LBT}", "bench.servers.lbt_service", args=(), port=port, env=env
        )
        servers.append(_Server(LBT, process))
    for label, module in (
        (GRPC_AIO, "bench.servers.raw_grpc"),
        (GRPCLIB, "bench.servers.peer_grpclib"),
    ):
        port = free_port()
        process = ServerProcess(ctx, f"peers grpc {label}", module, args=(str(port),), port=port)
        servers.append(_Server(label, process))
    return servers


def _grpc_slice(ctx: Context, server: _Server) -> LoadResult:
    body = WORK / "ping.grpc"
    before = cpu_seconds(server.pids)
    load = h2load(
        ctx,
        f"http://127.0.0.1:{server.port}{PATH}",
        body=body,
        concurrency=GRPC_CONCURRENCY,
        duration=SLICE_SECONDS,
        warmup=0,
        min_data_per_request=len(FRAME),
    )
    return server.measured(load, before)


def _grpc(ctx: Context, result: ScenarioResult) -> None:
    servers = _grpc_servers(ctx, result)
    body = WORK / "ping.grpc"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_bytes(FRAME)
    with contextlib.ExitStack() as stack:
        for server in servers:
            server.start(stack)
            check_ping(server.port)
            _grpc_slice(ctx, server)  # warm-up
        turns = interleaved(servers, _turns(ctx), partial(_grpc_slice, ctx))
    ctx.log(
        f"peers grpc c={GRPC_CONCURRENCY}: "
        + ", ".join(f"{s.label} {turns.rates[s]:,.0f} req/s" for s in servers)
    )
    ours = servers[0]
    if ours.label != LBT:
        return
    what = f"gRPC Ping, {GRPC_CONCURRENCY} in flight"
    for theirs in servers[1:]:
        result.rows += _rows_pair(
            "peers", ours, theirs, turns, what=what, target=GRPC_TARGETS.get(theirs.label)
        )


def _rabbitmq(ctx: Context, result: ScenarioResult) -> None:
    module = "bench.workers.peer_faststream"
    try:
        data = run_worker(ctx, module, ["measure", str(RABBIT_SECONDS), str(RABBIT_BATCHES)])
    finally:
        run_worker(ctx, module, ["cleanup"])
    labels = {"publish": "confirmed publish", "consume": "consume"}
    for kind, label in labels.items():
        rates, blocks = data[kind]["rates"], data[kind]["blocks"]
        ctx.log(
            f"peers rabbitmq {kind}: plugin {rates['plugin']:,.0f}, "
            f"FastStream {rates['faststream']:,.0f} msg/s"
        )
        result.rows.append(
            Row(
                scenario="peers",
                variant=f"rabbitmq plugin, {label}",
                baseline=f"FastStream, {label}",
                value=Summary.of(blocks["plugin"]),
                baseline_value=Summary.of(blocks["faststream"]),
                unit="msg/s",
                higher_is_better=True,
                target=RABBIT_TARGET,
                turn_ratios=tuple(
                    a / b for a, b in zip(blocks["plugin"], blocks["faststream"], strict=True)
                ),
            )
        )


@dataclass(frozen=True, slots=True)
class _Hello:
    label: str
    module: str
    uses_port_argument: bool
    env: dict[str, str] = field(default_factory=dict)


HELLOS = (
    _Hello(
        f"{LBT} (gRPC + HTTP + redis plugin)",
        "bench.servers.peer_lbt_hello",
        uses_port_argument=False,
    ),
    _Hello(
        "FastAPI + redis-py on uvicorn", "bench.servers.peer_fastapi_hello", uses_port_argument=True
    ),
    _Hello(
        "FastStream (RabbitMQ) ASGI app on uvicorn",
        "bench.servers.peer_faststream_hello",
        uses_port_argument=True,
    ),
)
# The same lbtoolkit hello on the other engine: what granian costs at start (no target).
GRANIAN_HELLO = _Hello(
    f"{LBT} on granian (gRPC + HTTP + redis plugin)",
    "bench.servers.peer_lbt_hello",
    uses_port_argument=False,
    env={"LBB_BENCH_SERVER_ENGINE": GRANIAN},
)


def _answers(port: int) -> bool:
    """Whether the service answers ``GET /v1/items/item-42`` with the item."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/v1/items/item-42")
        response = connection.getresponse()
        return response.status == 200 and json.loads(response.read())["id"] == "item-42"
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return False
    finally:
        connection.close()


def _cold_start(ctx: Context, hello: _Hello) -> tuple[float, float, dict[str, float]]:
    """Seconds from spawning the service to its first answer, its RSS then (MiB), by mapping."""
    port = free_port()
    env = lbt_env(grpc_port=free_port(), http_port=port, probes_port=free_port())
    env["LBB_CACHE_ADDR"] = "127.0.0.1:6379"
    env.update(hello.env)
    args = [str(port)] if hello.uses_port_argument else []
    log = WORK / "peers-hello.log"
    with log.open("ab") as err:
        began = time.perf_counter()
        process = subprocess.Popen(
            [ctx.python, "-m", hello.module, *args],
            cwd=ROOT,
            env=python_env(env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    pin(process.pid, ctx.server_cpus)
    try:
        while not _answers(port):
            if process.poll() is not None or time.perf_counter() - began > 60:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
                msg = f"{hello.module} never answered on port {port}:\n{tail}"
                raise RuntimeError(msg)
            time.sleep(0.005)
        elapsed = time.perf_counter() - began
        rss = rss_mib(descendants(process.pid))
        mappings = resident_by_mapping(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return elapsed, rss, mappings


def _hello(ctx: Context, result: ScenarioResult) -> None:
    started = (*HELLOS, GRANIAN_HELLO)
    cold: dict[str, list[float]] = {h.label: [] for h in started}
    rss: dict[str, list[float]] = {h.label: [] for h in started}
    imports: dict[str, list[float]] = {h.label: [] for h in HELLOS}
    mappings: dict[str, dict[str, float]] = {}
    for repeat in range(ctx.repeats):
        for hello in started if repeat % 2 == 0 else started[::-1]:
            seconds, mib, mappings[hello.label] = _cold_start(ctx, hello)
            cold[hello.label].append(seconds * 1e3)
            rss[hello.label].append(mib)
            if hello in HELLOS:  # the granian variant imports the same module
                timed = run_worker(ctx, "bench.workers.peer_import", [hello.module])
                imports[hello.label].append(float(timed["seconds"]) * 1e3)
    ctx.log(
        f"peers hello {GRANIAN_HELLO.label}: cold start "
        f"{statistics.median(cold[GRANIAN_HELLO.label]):.0f} ms, "
        f"RSS {statistics.median(rss[GRANIAN_HELLO.label]):.1f} MiB"
    )
    for hello in HELLOS:
        ctx.log(
            f"peers hello {hello.label}: cold start {statistics.median(cold[hello.label]):.0f} ms, "
            f"RSS {statistics.median(rss[hello.label]):.1f} MiB, "
            f"import {statistics.median(imports[hello.label]):.0f} ms"
        )
    ours = HELLOS[0].label
    result.notes.append(_resident_note(mappings[ours], mappings[HELLOS[1].label], HELLOS[1].label))
    measures: tuple[tuple[str, str, dict[str, list[float]], str], ...] = (
        ("RSS", "RSS at first answer", rss, "MiB"),
        ("cold start", "start to first answer", cold, "ms"),
        ("import", "import and build, no I/O", imports, "ms"),
    )
    pairs = [(ours, peer.label, measures) for peer in HELLOS[1:]]
    pairs.append((GRANIAN_HELLO.label, ours, measures[:2]))
    for variant, baseline, measured in pairs:
        for key, what, values, unit in measured:
            result.rows.append(
                Row(
                    scenario="peers",
                    variant=f"{variant}, {what}",
                    baseline=f"{baseline}, {what}",
                    value=Summary.of(values[variant]),
                    baseline_value=Summary.of(values[baseline]),
                    unit=unit,
                    higher_is_better=False,
                    target=HELLO_TARGETS.get(key) if baseline == HELLOS[1].label else None,
                    # Each repeat starts every service once: a turn.
                    turn_ratios=tuple(
                        theirs / mine
                        for mine, theirs in zip(values[variant], values[baseline], strict=True)
                    ),
                )
            )


def _resident_note(ours: dict[str, float], theirs: dict[str, float], peer: str) -> str:
    """Where the hello services' resident memory goes: anonymous memory, and the files mapped."""

    def files(mappings: dict[str, float]) -> float:
        return sum(mib for name, mib in mappings.items() if name != ANONYMOUS)

    ours_only = sorted(
        ((mib, name) for name, mib in ours.items() if name not in theirs and mib >= 0.5),
        reverse=True,
    )
    only = ", ".join(f"`{name}` {mib:.1f} MiB" for mib, name in ours_only[:4]) or "none"
    return (
        f"Resident memory of the hello services at their first answer (last run), by what is "
        f"mapped: anonymous memory (heap, Python objects, thread stacks) {LBT} "
        f"{ours.get(ANONYMOUS, 0.0):.1f} MiB against {peer} {theirs.get(ANONYMOUS, 0.0):.1f} MiB; "
        f"files (libraries' code and data) {files(ours):.1f} against {files(theirs):.1f} MiB. "
        f"Files of {LBT}'s that {peer} does not map, from 0.5 MiB: {only}."
    )


def run(ctx: Context, result: ScenarioResult) -> None:
    missing = missing_packages()
    if missing:
        msg = (
            f"peer frameworks not installed: {', '.join(missing)} "
            "(install the `bench` dependency group: `uv sync --group bench`)"
        )
        raise RuntimeError(msg)
    result.notes.append(
        "Targets are set on requests per server CPU-second. Requests per second depend on "
        "the CPU share each server gets: with other work on the CPU, a server with more "
        "threads (granian runs Rust threads next to Python's) gets a larger share, so on a "
        "busy machine its requests per second overstate it."
    )
    for part in (_http, _grpc, _rabbitmq, _hello):
        began = time.monotonic()
        part(ctx, result)
        ctx.log(f"peers {part.__name__.strip('_')} took {time.monotonic() - began:.0f} s")


SCENARIO = Scenario(
    name="peers",
    title="lbtoolkit against other frameworks",
    description=(
        f'HTTP: `GET /v1/items/{{id}}` and `POST /v1/items` (`body: "*"`) with '
        f"{HTTP_CONNECTIONS} keep-alive connections (wrk), the same JSON everywhere. "
        "lbtoolkit: the generated service's HTTP server transcoding JSON to the protobuf "
        "request and back, on each engine (`SERVER_ENGINE=uvicorn`, the default, and "
        "`granian`). Against raw Starlette (a JSON endpoint), FastAPI (pydantic), Litestar "
        "(msgspec structs) and BlackSheep (dataclasses), each on uvicorn (its defaults: "
        "httptools, access log off) and on granian (`granian --interface asgi`, one "
        "worker). All ten servers are up at once and take one-second slices in turns; "
        "besides requests per second, each slice reads the server's CPU time (user + "
        "system, worker processes included) from /proc, and requests per server "
        "CPU-second, which other work on the machine does not change, carry the targets: "
        "ahead of every peer on the same engine (1.5 times FastAPI), and 1.5 times raw "
        "Starlette on uvicorn for GET on the default engine. "
        f"gRPC: `Ping` with {GRPC_CONCURRENCY} calls in flight (h2load) against a bare "
        "grpc.aio server and grpclib, the same way. RabbitMQ: the rabbitmq plugin against "
        "FastStream's RabbitBroker in one process, in alternating blocks: confirmed "
        "persistent publishing to the same durable topic exchange, and consumption of "
        "2,000-message batches from the same durable queue with prefetch 32, acked after "
        "the handler. Hello service: spawn to first answer of `GET /v1/items/item-42`, "
        "resident memory then, and import-and-build time, of lbtoolkit's bench service "
        "with one redis plugin against FastAPI with a redis-py client opened in its "
        "lifespan, and FastStream's ASGI app with a RabbitMQ subscriber; lbtoolkit's service "
        "is also started on granian (`SERVER_ENGINE=granian`, no target)."
    ),
    run=run,
    services=("redis", "rabbitmq"),
    budget=180,
)
