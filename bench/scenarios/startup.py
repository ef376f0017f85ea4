"""Start-up: ``--help``, start-to-ready with 1, 8 and 32 plugins, memory after start."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

from bench.harness.context import ROOT, WORK, Context, python_env
from bench.harness.procs import pin
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary, fit_line, r_squared

__all__ = ["SCENARIO"]

COUNTS = (1, 8, 32)
APP = "bench.workers.startup_app"
RAW = "bench.workers.startup_raw"
SERVICE = "bench.servers.lbt_service"


def _spawn(
    ctx: Context, module: str, args: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        process = subprocess.Popen(
            [ctx.python, "-m", module, *args],
            cwd=ROOT,
            env=python_env(env),
            stdout=subprocess.PIPE,
            stderr=err,
        )
    pin(process.pid, ctx.server_cpus)
    return process


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def until_ready(ctx: Context, module: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning ``module`` to its ``READY`` line, and its RSS then (MiB)."""
    log = WORK / "startup.log"
    began = time.perf_counter()
    process = _spawn(ctx, module, [], env, log)
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while b"READY\n" not in buffer:
            if time.perf_counter() - began > 60 or not selector.select(timeout=1):
                if process.poll() is not None or time.perf_counter() - began > 60:
                    tail = log.read_text(errors="replace").splitlines()[-5:]
                    msg = f"{module} {env} never became ready:\n" + "\n".join(tail)
                    raise RuntimeError(msg)
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                continue
            buffer += chunk
        elapsed = time.perf_counter() - began
        rss = _rss_mib(process.pid)
    finally:
        selector.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    return elapsed, rss


def until_exit(ctx: Context, module: str, args: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``module args`` to its successful exit."""
    log = WORK / "startup.log"
    began = time.perf_counter()
    process = _spawn(ctx, module, args, env, log)
    process.communicate(timeout=60)
    elapsed = time.perf_counter() - began
    if process.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        msg = f"{module} {' '.join(args)} exited with {process.returncode}:\n" + "\n".join(tail)
        raise RuntimeError(msg)
    return elapsed


def _help_rows(ctx: Context, result: ScenarioResult) -> None:
    cases = [
        (
            "service with 32 connecting plugins",
            APP,
            {"BENCH_STARTUP_KIND": "connect", "BENCH_STARTUP_PLUGINS": "32"},
        )
    ]
    if (ROOT / "bench" / ".gen" / "benchgen" / "bench_service_toolkit.py").exists():
        cases.insert(0, ("generated bench service (gRPC + HTTP)", SERVICE, {}))
    for label, module, env in cases:
        modules = WORK / f"modules-{module.rsplit('.', 1)[1]}.txt"
        times: list[float] = []
        imports: list[float] = []
        for _ in range(ctx.repeats):
            times.append(
                until_exit(ctx, module, ["--help"], env | {"BENCH_MODULES_OUT": str(modules)})
            )
            imports.append(until_exit(ctx, "bench.workers.import_only", [str(modules)], {}))
        ctx.log(f"startup --help {label}: {times}, imports alone {imports}")
        result.rows.append(
            Row(
                scenario="startup",
                variant=f"`--help`, {label}",
                baseline="the same third-party and standard modules imported alone",
                value=Summary.of([t * 1e3 for t in times]),
                baseline_value=Summary.of([t * 1e3 for t in imports]),
                unit="ms",
                higher_is_better=False,
            )
        )


def _series(ctx: Context) -> dict[tuple[str, int], list[tuple[float, float]]]:
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    cases = [("noop", 0), *[("noop", n) for n in COUNTS], *[("connect", n) for n in COUNTS]]
    for _ in range(ctx.repeats):
        for kind, count in cases:
            env = {"BENCH_STARTUP_KIND": kind, "BENCH_STARTUP_PLUGINS": str(count)}
            runs.setdefault((kind, count), []).append(until_ready(ctx, APP, env))
            if kind == "connect":
                runs.setdefault(("raw", count), []).append(until_ready(ctx, RAW, env))
    for key, values in runs.items():
        ctx.log(f"startup {key}: {[f'{t * 1e3:.0f} ms' for t, _ in values]}")
    return runs


def _ms(values: list[tuple[float, float]]) -> Summary:
    return Summary.of([t * 1e3 for t, _ in values])


def _mib(values: list[tuple[float, float]]) -> Summary:
    return Summary.of([m for _, m in values])


def run(ctx: Context, result: ScenarioResult) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    _help_rows(ctx, result)
    runs = _series(ctx)
    for count in COUNTS:
        result.rows.append(
            Row(
                "startup",
                f"start to ready, {count} no-op plugin{'s' * (count > 1)}",
                "start to ready, no plugin",
                _ms(runs["noop", count]),
                _ms(runs["noop", 0]),
                "ms",
                higher_is_better=False,
            )
        )
    for count in COUNTS:
        result.rows.append(
            Row(
                "startup",
                f"start to ready, {count} connecting plugin{'s' * (count > 1)}",
                f"the same {count} connection{'s' * (count > 1)} opened with the libraries alone",
                _ms(runs["connect", count]),
                _ms(runs["raw", count]),
                "ms",
                higher_is_better=False,
            )
        )
    top = max(COUNTS)
    result.rows += [
        Row(
            "startup",
            f"RSS after start, {top} no-op plugins",
            "RSS after start, no plugin",
            _mib(runs["noop", top]),
            _mib(runs["noop", 0]),
            "MiB",
            higher_is_better=False,
        ),
        Row(
            "startup",
            f"RSS after start, {top} connecting plugins",
            f"the same {top} connections opened with the libraries alone",
            _mib(runs["connect", top]),
            _mib(runs["raw", top]),
            "MiB",
            higher_is_better=False,
        ),
    ]
    _growth(result, runs)


def _growth(result: ScenarioResult, runs: dict[tuple[str, int], list[tuple[float, float]]]) -> None:
    """Milliseconds per added plugin: the slope of a least-squares line through the medians."""

    def slope(kind: str, counts: tuple[int, ...]) -> list[float]:
        # One slope per repeat, so the slope has a median and a range too.
        repeats = len(runs[kind, counts[-1]])
        return [
            fit_line([(float(n), runs[kind, n][i][0] * 1e3) for n in counts])[0]
            for i in range(repeats)
        ]

    noop = slope("noop", (0, *COUNTS))
    connect, raw = slope("connect", COUNTS), slope("raw", COUNTS)
    result.rows += [
        Row(
            "startup",
            "time per added no-op plugin",
            None,
            Summary.of(noop),
            None,
            "ms",
            higher_is_better=False,
        ),
        Row(
            "startup",
            "time per added connecting plugin",
            "per added connection opened with the libraries alone",
            Summary.of(connect),
            Summary.of(raw),
            "ms",
            higher_is_better=False,
        ),
    ]
    base = _ms(runs["noop", 0]).median

    def fit(kind: str, counts: tuple[int, ...]) -> str:
        points = [(float(n), _ms(runs[kind, n]).median) for n in counts]
        share = r_squared(points)
        shape = "close to linear" if share >= 0.9 else "not clearly linear in this run"
        return f"{shape} (a straight line explains {share:.0%} of the variation)"

    result.notes.append(
        f"Growth with no-op plugins: {Summary.of(noop).median:.2f} ms per plugin on top of "
        f"{base:.0f} ms for a service without plugins, {fit('noop', (0, *COUNTS))}."
    )
    result.notes.append(
        f"Growth with connecting plugins: {Summary.of(connect).median:.1f} ms per plugin, "
        f"{fit('connect', COUNTS)}, against {Summary.of(raw).median:.1f} ms per connection "
        "opened with the libraries alone. Plugins run `pre_start` one after another, as the "
        "lifecycle requires, so connection time adds up."
    )


SCENARIO = Scenario(
    name="startup",
    title="Start-up time and memory",
    description=(
        "Wall time from spawning the process to the end (`--help`) or to the `READY` line "
        "printed by the service's last start hook (`start to ready`), and the resident "
        "memory at that moment. No-op plugins parse a three-variable config and have "
        "empty `pre_start`/`on_stop` hooks; connecting plugins rotate over redis, "
        "postgres_pgx, rabbitmq and postgres_gorm on the local servers with their default "
        "settings (a PostgreSQL pool keeps 5 connections open). Baselines: the same "
        "modules imported without lbtoolkit (for `--help`), a service without plugins "
        "(no-op), and a script opening the same connections with the client libraries "
        "alone, one after another (connecting)."
    ),
    run=run,
    services=("postgres", "redis", "rabbitmq"),
    budget=80,
)
