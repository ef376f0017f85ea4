"""``bench/RESULTS.md`` and ``bench/results.json`` from the scenarios' results."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from bench.harness.context import BENCH

if TYPE_CHECKING:
    from bench.harness.context import Context
    from bench.harness.results import Row, ScenarioResult
    from bench.harness.stats import Summary

__all__ = ["machine", "write_reports"]

RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results.json"
DASH = "\u2013"  # an en dash between the smallest and the largest of a range


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as cpuinfo:  # noqa: PTH123 - a one-off read
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "lbtoolkit": version("lbtoolkit"),
        "system": f"{platform.system()} {platform.release()}",
    }


def fmt(value: float, unit: str) -> str:
    """A number as the tables show it, precision chosen by its size."""
    if unit in {"req/s", "ops/s", "msg/s", "calls/s"} or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _cell(summary: Summary | None, unit: str) -> str:
    if summary is None:
        return "—"
    if len(summary.samples) == 1:
        return f"{fmt(summary.median, unit)} {unit}"
    low, high = fmt(summary.low, unit), fmt(summary.high, unit)
    return f"{fmt(summary.median, unit)} {unit} ({low}{DASH}{high})"


def _status(row: Row) -> str:
    if row.target is None:
        return ""
    met = row.met
    if met is None:
        return "not measured"
    if met:
        return "met"
    shortfall = row.shortfall or 0.0
    return f"**missed** by {shortfall:.1%}"


def _ratio(row: Row) -> str:
    ratio = row.ratio
    return "—" if ratio is None else f"{ratio:.3f}"


def _target(row: Row) -> str:
    return "—" if row.target is None else f"≥ {row.target:g}"


def _table(rows: list[Row]) -> list[str]:
    header = "| variant | value (median, min{}max) | baseline | baseline value | ratio | target | |"
    lines = [
        header.format(DASH),
        "|---|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {row.variant} | {_cell(row.value, row.unit)} | {row.baseline or '—'} "
        f"| {_cell(row.baseline_value, row.unit)} | {_ratio(row)} | {_target(row)} "
        f"| {_status(row)} |"
        for row in rows
    )
    return lines


def _summary(results: list[ScenarioResult]) -> list[str]:
    rows = [row for result in results for row in result.rows if row.target is not None]
    if not rows:
        return []
    lines = [
        "## Targets",
        "",
        "| scenario | variant | baseline | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.scenario} | {row.variant} | {row.baseline} | {_ratio(row)} | {_target(row)} "
        f"| {_status(row)} |"
        for row in rows
    ]
    return [*lines, ""]


def render(results: list[ScenarioResult], ctx: Context, run: dict[str, Any]) -> str:
    info = run["machine"]
    tools = ", ".join(f"{v}" for v in run["tools"].values()) or "none"
    pinning = (
        f"servers on CPU {','.join(map(str, sorted(ctx.server_cpus)))}, load generators on "
        f"CPU {','.join(map(str, sorted(ctx.load_cpus)))}"
        if ctx.server_cpus
        else "no CPU pinning"
    )
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {run['date']}",
        f"- Machine: {info['cores']} cores ({info['cpu']}), {info['system']}",
        f"- Python {info['python']}, lbtoolkit {info['lbtoolkit']}; load generators: {tools}",
        (
            f"- Method: each figure is the median of {ctx.repeats} runs, with the smallest "
            f"and largest in brackets. A server run is {ctx.duration:g} one-second load "
            "slices per side, the sides taking turns, after a warm-up; load comes from a "
            f"separate process over loopback ({pinning})."
        ),
        (
            "- Ratio: higher is better (a throughput is divided by its baseline's, a "
            "baseline's time or size by the variant's). Where the sides were measured "
            "in turns (servers: one-second slices; plugins: blocks), it is the median "
            "of the ratios of each turn, so that drift of the machine cancels; "
            "elsewhere the ratio of the medians. Target: the ratio to reach."
        ),
        (
            f"- Produced by `python bench/run.py` in {run['seconds']:.0f} s; see "
            "[docs/benchmarks.md](../docs/benchmarks.md) for what each scenario measures."
        ),
        "",
        *_summary(results),
    ]
    for number, result in enumerate(results, 1):
        lines += [f"## {number}. {result.title}", "", result.description, ""]
        before, after = result.load
        lines += [
            (
                f"Measured in {result.seconds:.0f} s; load average (1 min) {before:.2f} at the "
                f"start, {after:.2f} at the end."
            ),
            "",
        ]
        if result.rows:
            lines += [*_table(result.rows), ""]
        row_notes = [(row, note) for row in result.rows for note in row.notes]
        if result.notes or row_notes:
            lines += [f"- {note}" for note in result.notes]
            lines += [f"- {row.variant}: {note}" for row, note in row_notes]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_reports(results: list[ScenarioResult], ctx: Context, run: dict[str, Any]) -> None:
    RESULTS_MD.write_text(render(results, ctx, run))
    rows = [row.to_json() for result in results for row in result.rows]
    RESULTS_JSON.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
