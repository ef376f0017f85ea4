"""Paths, settings and logging shared by the runner and the scenarios."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BENCH", "GEN", "PROFILES", "ROOT", "WORK", "Context", "python_env"]

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
GEN = BENCH / ".gen"
WORK = BENCH / ".work"
PROFILES = BENCH / ".profiles"


def python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a Python child: the repository and generated code importable."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LBB_", "BENCH_", "PYTHON"))
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(GEN)])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass(slots=True)
class Context:
    """What a scenario is given: how long and how often to measure, where to write."""

    repeats: int = 3
    duration: float = 3.0
    warmup: float = 1.0
    python: str = sys.executable
    server_cpus: frozenset[int] = frozenset()
    load_cpus: frozenset[int] = frozenset()
    profile: bool = True
    started: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        sys.stderr.write(f"[{elapsed:6.1f}s] {message}\n")
        sys.stderr.flush()
