"""Where the suite's checks of new projects keep their mypy cache, between runs.

Each check of a scaffolded or generated project makes mypy follow lbtoolkit's
own modules. With a new cache every time, mypy analyses all of them again:
about ten seconds of CPU per check. The cache lives under the repository's
own ``.mypy_cache`` (ignored by git, removed by ``make clean``), one per name
and xdist worker, since mypy does not promise that two processes may share
one. A stale entry costs nothing but a recheck: mypy compares each module's
source with what it cached.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["mypy_cache"]

_ROOT = Path(__file__).resolve().parents[2] / ".mypy_cache" / "tests"


def mypy_cache(name: str) -> Path:
    """The cache directory of the checks called ``name`` in this worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return _ROOT / f"{name}-{worker}"
