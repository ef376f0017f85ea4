"""The suite's runner: tools, local servers, generated code, scenarios, reports.

Scenarios not selected keep their figures from the last run that measured them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.harness.context import GEN, WORK, Context
from bench.harness.gen import generate
from bench.harness.report import machine, write_reports
from bench.harness.results import ScenarioResult, row_from_store, row_to_store
from bench.harness.setup import ensure_packages, ensure_services, ensure_tools, tool_versions
from bench.scenarios import SCENARIOS

if TYPE_CHECKING:
    from bench.harness.scenario import Scenario

STORE = WORK / "scenarios"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    names = [s.name for s in SCENARIOS]
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="Run the lbtoolkit benchmark suite."
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="SCENARIO",
        help=f"run only this scenario (repeatable): {', '.join(names)}",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (3)")
    parser.add_argument(
        "--duration",
        type=float,
        default=3.0,
        help="seconds of load per side and measurement, in one-second slices (3)",
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up (1)")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin servers and load generators to CPUs"
    )
    parser.add_argument(
        "--no-profile", action="store_true", help="do not profile variants that miss a target"
    )
    return parser.parse_args(argv)


def _context(args: argparse.Namespace) -> Context:
    cpus = sorted(os.sched_getaffinity(0))
    ctx = Context(
        repeats=max(1, args.repeats),
        duration=min(max(1.0, args.duration), 15.0),
        warmup=max(0.0, args.warmup),
        profile=not args.no_profile,
    )
    if len(cpus) >= 2 and not args.no_pin:
        ctx.server_cpus = frozenset(cpus[:1])
        ctx.load_cpus = frozenset(cpus[1:])
    return ctx


def _store(result: ScenarioResult, date: str) -> None:
    STORE.mkdir(parents=True, exist_ok=True)
    data = {
        "date": date,
        "seconds": result.seconds,
        "load": result.load,
        "notes": result.notes,
        "rows": [row_to_store(row) for row in result.rows],
    }
    (STORE / f"{result.name}.json").write_text(json.dumps(data, indent=1))


def _stored(scenario: Scenario) -> ScenarioResult | None:
    try:
        data: dict[str, Any] = json.loads((STORE / f"{scenario.name}.json").read_text())
    except (OSError, ValueError):
        return None
    result = scenario.new_result()
    result.rows = [row_from_store(row) for row in data["rows"]]
    result.seconds = data["seconds"]
    result.load = tuple(data["load"])
    result.notes = [f"Figures from an earlier run ({data['date']}).", *data["notes"]]
    return result


def _run_one(ctx: Context, scenario: Scenario) -> ScenarioResult:
    result = scenario.new_result()
    began = time.monotonic()
    load_before = os.getloadavg()[0]
    ctx.log(f"== {scenario.name} (about {scenario.budget:.0f} s)")
    if scenario.services and not ensure_services(ctx, *scenario.services):
        result.notes.append(f"Not run: could not start {', '.join(scenario.services)}.")
        return result
    try:
        scenario.run(ctx, result)
    except Exception as error:  # noqa: BLE001 - one failing scenario must not hide the rest
        traceback.print_exc()
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        result.notes.append(f"The scenario failed: {type(error).__name__}: {first}")
    result.seconds = time.monotonic() - began
    result.load = (load_before, os.getloadavg()[0])
    ctx.log(f"== {scenario.name} took {result.seconds:.0f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    ctx = _context(args)
    selected = [s for s in SCENARIOS if not args.only or s.name in args.only]
    ensure_tools(ctx)
    ensure_packages(ctx)
    generate(ctx)
    sys.path.insert(0, str(GEN))
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    fresh = {s.name: _run_one(ctx, s) for s in selected}
    for result in fresh.values():
        _store(result, date)
    results = []
    for scenario in SCENARIOS:
        found = fresh.get(scenario.name) or _stored(scenario)
        if found is not None:
            results.append(found)
    run = {
        "date": date,
        "machine": machine(),
        "tools": tool_versions(),
        "seconds": time.monotonic() - ctx.started,
    }
    write_reports(results, ctx, run)
    ctx.log(f"wrote bench/RESULTS.md and bench/results.json in {run['seconds']:.0f} s")
    failed = [r.name for r in fresh.values() if any("failed" in n for n in r.notes)]
    return 1 if failed else 0
