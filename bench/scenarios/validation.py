"""Request validation: a transcoded POST with five rules, validation on against off."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import statistics
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import partial

from bench.harness.context import BENCH, GEN, ROOT, WORK, Context, python_env
from bench.harness.cpu import cpu_seconds, per_cpu_second
from bench.harness.gen import lbtoolkit_generate
from bench.harness.interleave import SLICE_SECONDS, interleaved, slices
from bench.harness.load import LoadResult, wrk
from bench.harness.procs import ServerProcess, free_port, pin
from bench.harness.profile import describe, profile_path, profile_server
from bench.harness.results import Row, ScenarioResult, throughput_rows
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary
from bench.servers.lbt_validation import ENV_PREFIX, PACKAGE, SERVICE_NAME

__all__ = ["SCENARIO"]

CONNECTIONS = 64
TARGET = 0.90
ENGINE_CHECKS = 20_000
PROTO = BENCH / "protos" / "bench_validation.proto"
SERVER_MODULE = "bench.servers.lbt_validation"
PATH = "/v1/users"
ENDPOINT = f'POST {PATH} (body: "*", 5 rules)'
ON, OFF = "validation on", "validation off"

# Every rule holds, so both servers run the handler and answer alike: what
# differs is the checking alone.
VALID_BODY = {
    "name": "widget",
    "email": "ada@example.com",
    "age": 36,
    "tags": ["a", "b"],
    "requestId": "3f0c1a52-8d4e-4b7a-9c1e-2a5b6d7e8f90",
}
EXPECTED = {
    "id": VALID_BODY["requestId"],
    "name": "widget",
    "email": "ada@example.com",
    "age": 36,
    "tags": ["a", "b"],
}
# Breaks all five rules: refused with validation on, served with it off.
INVALID_BODY = {
    "name": "wi",
    "email": "not an address",
    "age": 200,
    "tags": [str(i) for i in range(9)],
    "requestId": "not-a-uuid",
}


@dataclass(slots=True, eq=False)  # hashed by identity
class _Server:
    label: str
    port: int
    env: dict[str, str]
    pid: int = 0
    per_cpu: list[float] = field(default_factory=list)
    """Requests per server CPU-second of each slice, in order."""

    def process(self, ctx: Context, env: dict[str, str] | None = None) -> ServerProcess:
        return ServerProcess(
            ctx,
            self.label,
            SERVER_MODULE,
            args=(),
            port=self.port,
            env=self.env | (env or {}),
        )


def _generate() -> str | None:
    """Generate ``benchvalid`` next to ``benchgen``; why it could not be, or ``None``."""
    if importlib.util.find_spec("lbtoolkit.server.http") is None:
        return "lbtoolkit.server.http is not part of this tree yet"
    out = GEN / PACKAGE
    if out.exists():
        shutil.rmtree(out)
    generated = lbtoolkit_generate([PROTO], PROTO.parent, out)
    if generated.returncode != 0:
        lines = generated.stderr.strip().splitlines() or [f"exit {generated.returncode}"]
        return f"`lbtoolkit generate {PROTO.name}` failed: {lines[-1]}"
    return None


def _server(enabled: bool) -> _Server:
    port = free_port()
    env = {
        f"{ENV_PREFIX}_{SERVICE_NAME.upper()}_SERVER_LISTEN": "127.0.0.1",
        f"{ENV_PREFIX}_{SERVICE_NAME.upper()}_SERVER_PORT": str(port),
        f"{ENV_PREFIX}_PROBES_SERVER_LISTEN": "127.0.0.1",
        f"{ENV_PREFIX}_PROBES_SERVER_PORT": str(free_port()),
        f"{ENV_PREFIX}_LOG_LEVEL": "WARNING",
        f"{ENV_PREFIX}_VALIDATION_ENABLED": "true" if enabled else "false",
    }
    return _Server(ON if enabled else OFF, port, env)


def _post(server: _Server, body: dict[str, object]) -> tuple[int, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{PATH}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def check(server: _Server) -> None:
    """The valid body is answered on both; the invalid one tells whether the switch took."""
    status, answer = _post(server, VALID_BODY)
    if status != 200 or answer != EXPECTED:
        msg = f"{server.label} {ENDPOINT}: {status} {answer!r}, expected 200 {EXPECTED!r}"
        raise RuntimeError(msg)
    status, answer = _post(server, INVALID_BODY)
    expected = 400 if server.label == ON else 200
    if status != expected:
        msg = (
            f"{server.label}: a body breaking every rule got {status} {answer!r}, expected "
            f"{expected}: {ENV_PREFIX}_VALIDATION_ENABLED did not take effect"
        )
        raise RuntimeError(msg)


def _script() -> str:
    body = json.dumps(VALID_BODY, separators=(",", ":"))
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = '{body}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def _load(
    ctx: Context, server: _Server, duration: float, connections: int = CONNECTIONS
) -> LoadResult:
    path = WORK / "post-validation.lua"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_script())
    url = f"http://127.0.0.1:{server.port}{PATH}"
    return wrk(ctx, url, connections=connections, duration=duration, script=path)


def _slice(ctx: Context, server: _Server) -> LoadResult:
    """One measured slice; the server's CPU time around it gives its requests per CPU-second."""
    before = cpu_seconds([server.pid])
    load = _load(ctx, server, SLICE_SECONDS)
    server.per_cpu.append(per_cpu_second(load.requests, cpu_seconds([server.pid]) - before))
    return load


def run(ctx: Context, result: ScenarioResult) -> None:
    reason = _generate()
    if reason is not None:
        result.notes.append(f"Not run: {reason}.")
        return
    servers = [_server(enabled=True), _server(enabled=False)]
    on, off = servers
    samples: dict[str, list[float]] = {}
    turn_ratios: list[float] = []
    with contextlib.ExitStack() as stack:
        for server in servers:
            process = stack.enter_context(server.process(ctx)).process
            assert process is not None
            server.pid = process.pid
            check(server)
            _load(ctx, server, max(1.0, ctx.warmup))
        for repeat in range(ctx.repeats):
            turns = interleaved(
                servers, slices(ctx.duration), partial(_slice, ctx), reverse=repeat % 2 == 1
            )
            for server, rate in turns.rates.items():
                samples.setdefault(server.label, []).append(rate)
            turn_ratios.extend(turns.ratios(on, off))
            ctx.log(
                f"validation {ENDPOINT}: "
                + ", ".join(
                    f"{s.label} {r:,.0f} req/s "
                    f"{statistics.median(s.per_cpu[-len(turns.slices[s]) :]):,.0f} req/CPU-s"
                    for s, r in turns.rates.items()
                )
            )
    # The target is on the server's CPU time: on a busy machine the wall-clock
    # rates of two servers drift apart by more than the check costs.
    rows = throughput_rows(
        "validation",
        f"{ON}, {ENDPOINT}",
        f"{OFF}, {ENDPOINT}",
        rates=(samples[ON], samples[OFF]),
        rate_ratios=turn_ratios,
        per_cpu=(on.per_cpu, off.per_cpu),
        unit="req",
        whose_cpu="server",
        target=TARGET,
    )
    result.rows += rows
    row = rows[-1]
    if row.ratio is not None:
        # From the turns' ratio rather than the two medians: the drift of a
        # busy machine cancels within a turn, not between the medians.
        cost = (1 / row.ratio - 1) / Summary.of(off.per_cpu).median * 1e6
        if cost > 0:
            result.notes.append(
                f"With validation on, a request takes about {cost:.0f} µs more of the server's "
                "CPU time ((1/ratio - 1) divided by the rate per CPU-second with validation off)."
            )
        else:
            result.notes.append(
                "Validation on came out no slower than off: the cost of the check is below "
                "what this run resolves (see the in-process row for its size)."
            )
    result.rows.append(_engine_row(ctx))
    if row.met is False and ctx.profile:
        _profile(ctx, result, on, off)


def _engine_row(ctx: Context) -> Row:
    """protovalidate's check of the request message alone, in a process of its own."""
    fields = {
        "name": VALID_BODY["name"],
        "email": VALID_BODY["email"],
        "age": VALID_BODY["age"],
        "tags": VALID_BODY["tags"],
        "request_id": VALID_BODY["requestId"],
    }
    code = f"""
import json, time, protovalidate
from {PACKAGE}.bench_validation_pb2 import CreateUserRequest
message = CreateUserRequest(**{fields!r})
validator = protovalidate.Validator()
assert not validator.collect_violations(message, fail_fast=False)
samples = []
for _ in range({max(3, ctx.repeats)}):
    began = time.perf_counter()
    for _ in range({ENGINE_CHECKS}):
        validator.collect_violations(message, fail_fast=False)
    samples.append((time.perf_counter() - began) / {ENGINE_CHECKS} * 1e6)
print(json.dumps(samples))
"""
    process = subprocess.Popen(
        [ctx.python, "-c", code],
        cwd=ROOT,
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pin(process.pid, ctx.server_cpus)
    out, err = process.communicate(timeout=120)
    if process.returncode != 0:
        tail = "\n".join(err.decode(errors="replace").splitlines()[-5:])
        msg = f"the in-process check exited with status {process.returncode}:\n{tail}"
        raise RuntimeError(msg)
    samples: list[float] = json.loads(out.decode().strip().splitlines()[-1])
    return Row(
        scenario="validation",
        variant="protovalidate's check of the request alone, in process",
        baseline=None,
        value=Summary.of(samples),
        baseline_value=None,
        unit="µs",
        higher_is_better=False,
    )


def _profile(ctx: Context, result: ScenarioResult, on: _Server, off: _Server) -> None:
    profiles = {}
    for server in (on, off):
        base = profile_path(f"validation-{server.label.replace(' ', '-')}")
        with server.process(ctx, {"BENCH_PROFILE": str(base)}) as process:
            load = partial(_load, ctx, server, ctx.duration)
            profiles[server.label] = profile_server(process, base, load)
    label = f"{ON} against {OFF}, {ENDPOINT}"
    result.notes.append(describe(profiles[ON], profiles[OFF], label=label))


SCENARIO = Scenario(
    name="validation",
    title="Request validation",
    description=(
        f'`POST {PATH}` (`body: "*"`) driven by wrk with {CONNECTIONS} connections '
        "(HTTP/1.1 keep-alive), to the service generated from "
        "`bench/protos/bench_validation.proto`, HTTP server only. Its request carries five "
        "`buf.validate` rules (a string `min_len`, an `email`, an `int32` range, a repeated "
        "`max_items`, a `uuid`) and the body keeps all of them, so the handler runs either way. "
        f"The same service runs twice, with `{ENV_PREFIX}_VALIDATION_ENABLED=true` and "
        "`=false`, both up at once and loaded in turns; before measuring, a body breaking "
        "every rule is sent to check that one refuses it (400) and the other serves it. "
        "Each slice reads the server's CPU time from /proc; the target is on requests per "
        "server CPU-second, which other work on the machine does not change."
    ),
    run=run,
    budget=70,
)
