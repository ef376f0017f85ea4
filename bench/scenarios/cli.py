"""Command-line start-up: ``lbtoolkit --help``, ``describe`` and imports, against ``-c pass``."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass

from bench.harness.context import BENCH, GEN, ROOT, Context, python_env
from bench.harness.gen import PACKAGE, SERVICE_PROTO, lbtoolkit_command
from bench.harness.procs import pin
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary

__all__ = ["SCENARIO"]

# Runs per command, on top of --repeats: one run of a short command is at the
# mercy of the scheduler, and the whole series takes seconds.
RUNS_PER_REPEAT = 3
PROMISE_SECONDS = 0.5
PROTO = BENCH / "protos" / SERVICE_PROTO
PB2_MODULE = f"{PACKAGE}.bench_service_pb2"
BASELINE = "`python -c pass`"


@dataclass(frozen=True, slots=True)
class _Command:
    label: str
    argv: tuple[str, ...]
    promised: bool = False
    """Whether the < 0.5 s promise of the command line applies to it."""


def _pb2_generated() -> bool:
    return (GEN / PACKAGE / "bench_service_pb2.py").exists()


def _commands(ctx: Context) -> list[_Command]:
    lbtoolkit = tuple(lbtoolkit_command())
    commands = [
        _Command(BASELINE, (ctx.python, "-c", "pass")),
        _Command("`lbtoolkit --help`", (*lbtoolkit, "--help"), promised=True),
        _Command(
            f"`lbtoolkit describe bench/protos/{SERVICE_PROTO}`",
            (*lbtoolkit, "describe", str(PROTO)),
            promised=True,
        ),
        _Command('`python -c "import lbtoolkit"`', (ctx.python, "-c", "import lbtoolkit")),
    ]
    if _pb2_generated():
        commands.append(
            _Command(
                f'`python -c "import {PB2_MODULE}"`', (ctx.python, "-c", f"import {PB2_MODULE}")
            )
        )
    return commands


def _time(ctx: Context, command: _Command) -> float:
    """Wall seconds from spawning ``command`` to its successful exit."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command.argv,
        cwd=ROOT,
        env=python_env({"COLUMNS": "100"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    pin(process.pid, ctx.server_cpus)
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        msg = f"{command.label} did not finish within 60 s"
        raise RuntimeError(msg) from None
    elapsed = time.perf_counter() - began
    if process.returncode != 0:
        tail = "\n".join(err.decode(errors="replace").splitlines()[-5:])
        msg = f"{command.label} exited with status {process.returncode}:\n{tail}"
        raise RuntimeError(msg)
    return elapsed


def _lbtoolkit_modules(ctx: Context, module: str) -> list[str]:
    """The ``lbtoolkit`` modules loaded by importing ``module`` in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m == 'lbtoolkit' or m.startswith('lbtoolkit.'))))\n"
    )
    out = subprocess.run(
        [ctx.python, "-c", code],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return names


def _series(ctx: Context, commands: list[_Command]) -> dict[str, list[float]]:
    """Each command once per turn, the order reversed every other turn."""
    times: dict[str, list[float]] = {c.label: [] for c in commands}
    for command in commands:  # warm the page cache and the bytecode caches
        _time(ctx, command)
    for turn in range(max(1, ctx.repeats) * RUNS_PER_REPEAT):
        for command in commands if turn % 2 == 0 else commands[::-1]:
            times[command.label].append(_time(ctx, command))
    return times


def run(ctx: Context, result: ScenarioResult) -> None:
    commands = _commands(ctx)
    times = _series(ctx, commands)
    baseline = times[BASELINE]
    ctx.log(
        "cli: "
        + ", ".join(f"{label} {Summary.of(t).median * 1e3:.0f} ms" for label, t in times.items())
    )
    for command in commands[1:]:
        own = times[command.label]
        row = Row(
            scenario="cli",
            variant=command.label,
            baseline=BASELINE,
            value=Summary.of(own),
            baseline_value=Summary.of(baseline),
            unit="s",
            higher_is_better=False,
            turn_ratios=tuple(base / ours for ours, base in zip(own, baseline, strict=True)),
        )
        if command.promised:
            median = row.value.median
            within = "within" if median < PROMISE_SECONDS else "over"
            row.notes.append(
                f"{median:.3f} s wall time, {within} the {PROMISE_SECONDS:g} s the command "
                "line promises (reported, not a target)."
            )
        result.rows.append(row)
    _module_notes(ctx, result)


def _module_notes(ctx: Context, result: ScenarioResult) -> None:
    bare = _lbtoolkit_modules(ctx, "lbtoolkit")
    result.notes.append(f"`import lbtoolkit` loads {len(bare)} lbtoolkit modules: {_names(bare)}.")
    if not _pb2_generated():
        result.notes.append(f"`{PB2_MODULE}` was not generated: its import is not measured.")
        return
    loaded = _lbtoolkit_modules(ctx, PB2_MODULE)
    # Importing any submodule runs the package's __init__ first: only what
    # comes on top of that and of the options descriptors is unexpected.
    extra = [m for m in loaded if m not in bare and not m.startswith("lbtoolkit.proto")]
    text = (
        f"`import {PB2_MODULE}` loads {len(loaded)} lbtoolkit module"
        f"{'s' * (len(loaded) != 1)}: {_names(loaded)}; "
    )
    if extra:
        text += (
            f"{len(extra)} beyond `import lbtoolkit` and the options descriptors "
            f"(`lbtoolkit.proto`): {_names(extra)}."
        )
    else:
        text += "nothing beyond `import lbtoolkit` and the options descriptors (`lbtoolkit.proto`)."
    result.notes.append(text)


def _names(modules: list[str]) -> str:
    return ", ".join(f"`{m}`" for m in modules) or "none"


SCENARIO = Scenario(
    name="cli",
    title="Command-line start-up",
    description=(
        "Wall time from spawning to exit of `lbtoolkit --help`, `lbtoolkit describe` on the "
        f'bench\'s `{SERVICE_PROTO}`, `python -c "import lbtoolkit"` and '
        f'`python -c "import {PB2_MODULE}"` (a generated message module alone), against '
        f"`python -c pass` with the same interpreter and environment. The commands run one "
        f"after another in turns ({RUNS_PER_REPEAT} turns per repeat, the order reversed "
        "every other turn, after one warm-up run each); the ratio is the median of the "
        "turns' ratios. Output goes to /dev/null. The notes give how many lbtoolkit "
        "modules the two imports load."
    ),
    run=run,
    budget=60,
)
