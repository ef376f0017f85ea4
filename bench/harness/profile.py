"""Profiles of a variant that misses its target, summarised for the report.

A profile covers only the measured window (see ``bench/servers/profiling.py``)
and knows how many operations it served, so a variant and its baseline
compare per operation: which packages and functions take the extra time.
"""

from __future__ import annotations

import json
import re
import signal
import time
from typing import TYPE_CHECKING, Any

from bench.harness.context import PROFILES
from bench.servers.profiling import IDLE

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from bench.harness.load import LoadResult
    from bench.harness.procs import ServerProcess

__all__ = ["describe", "profile_path", "profile_server", "read_profile"]


def profile_path(name: str) -> Path:
    """Where a process writes its profile (``BENCH_PROFILE``); ``.txt``/``.json`` added."""
    PROFILES.mkdir(parents=True, exist_ok=True)
    base = PROFILES / re.sub(r"[^A-Za-z0-9-]+", "_", name).strip("_")
    # A profile left by an earlier run must not pass for this one.
    for old in (*PROFILES.glob(f"{base.name}.*"), *PROFILES.glob(f"{base.name}-*.*")):
        old.unlink()
    return base


def read_profile(base: Path, label: str = "") -> dict[str, Any] | None:
    name = f"{base.name}-{label}" if label else base.name
    try:
        data: dict[str, Any] = json.loads(base.with_name(f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    return data


def profile_server(
    server: ServerProcess, base: Path, load: Callable[[], LoadResult]
) -> dict[str, Any] | None:
    """Profile ``server`` (started with ``BENCH_PROFILE=base``) while ``load`` runs."""
    process = server.process
    if process is None:
        return None
    process.send_signal(signal.SIGUSR1)
    time.sleep(0.2)
    result = load()
    process.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 60
    data = None
    while data is None and time.monotonic() < deadline:
        time.sleep(0.2)
        data = read_profile(base)
    if data is not None and data.get("operations") is None:
        data["operations"] = result.requests
    return data


def _busy(profile: dict[str, Any]) -> float:
    idle = sum(p["seconds"] for p in profile["packages"] if p["package"] == IDLE)
    return float(profile["total_seconds"]) - float(idle)


def _per_op(
    profile: dict[str, Any], key: str, name_of: Callable[[dict[str, Any]], str]
) -> dict[str, float]:
    operations = profile.get("operations") or 0
    return {name_of(item): item["seconds"] / operations * 1e6 for item in profile[key]}


def _function_name(item: dict[str, Any]) -> str:
    return f"`{item['function']}` ({item['where']})"


def describe(
    profile: dict[str, Any] | None,
    baseline: dict[str, Any] | None,
    *,
    label: str,
    focus: str = "lbtoolkit",
    top: int = 5,
) -> str:
    """One paragraph: busy time per operation, and where the variant's extra time goes."""
    if profile is None or not profile.get("total_seconds") or not profile.get("operations"):
        return f"Profile ({label}): not available."
    ops = profile["operations"]
    busy = _busy(profile) / ops * 1e6
    idle_share = 1 - _busy(profile) / profile["total_seconds"]
    text = (
        f"Profile ({label}; pyinstrument, main thread, {ops:,} operations): "
        f"{busy:.0f} µs sampled per operation outside the event loop's wait (profiler "
        f"overhead included), idle {idle_share:.0%} of the time"
    )
    packages = _per_op(profile, "packages", lambda p: str(p["package"]))
    functions = _per_op(profile, "functions", _function_name)
    ours = sorted(
        ((name, us) for name, us in functions.items() if focus in name),
        key=lambda item: -item[1],
    )[:top]
    if baseline is not None and baseline.get("operations"):
        base_ops = baseline["operations"]
        base_busy = _busy(baseline) / base_ops * 1e6
        base_idle = 1 - _busy(baseline) / baseline["total_seconds"]
        text += f", against {base_busy:.0f} µs (idle {base_idle:.0%}) for the baseline"
        base_packages = _per_op(baseline, "packages", lambda p: str(p["package"]))
        grown = sorted(
            ((name, us - base_packages.get(name, 0.0)) for name, us in packages.items()),
            key=lambda item: -item[1],
        )
        parts = [f"{name} {delta:+.1f} µs" for name, delta in grown[:6] if delta > 0.05]
        text += ". Extra time per operation by package: " + (", ".join(parts) or "none")
        base_functions = _per_op(baseline, "functions", _function_name)
        grown_functions = sorted(
            ((name, us - base_functions.get(name, 0.0)) for name, us in functions.items()),
            key=lambda item: -item[1],
        )
        parts = [f"{name} {delta:+.1f} µs" for name, delta in grown_functions[:top] if delta > 0.05]
        if parts:
            text += ". Functions that grew most: " + "; ".join(parts)
    if ours:
        text += f". Self time in {focus}: " + "; ".join(f"{n} {us:.1f} µs" for n, us in ours)
    return text + "."
