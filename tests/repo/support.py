"""Running the repository's own make targets from a test."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_command(*targets: str) -> list[str]:
    """``make`` on this checkout, in the virtualenv the tests run in, syncing nothing."""
    return [
        "make",
        "--no-print-directory",
        "-C",
        str(ROOT),
        f"VENV={sys.prefix}",
        "SYNC=",
        *targets,
    ]
