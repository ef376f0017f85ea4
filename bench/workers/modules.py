"""The modules a process imported, for the import-only baseline of start-up.

With ``BENCH_MODULES_OUT=path``, :func:`record_at_exit` writes the names of
every module loaded when the process exits, one a line, in import order.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

__all__ = ["OURS", "record_at_exit"]

# Our own code, left out of the baseline: what is measured is the rest.
OURS = ("lbtoolkit", "bench", "benchgen", "__main__")


def _write(path: Path) -> None:
    path.write_text("\n".join(sys.modules) + "\n")


def record_at_exit() -> None:
    target = os.environ.get("BENCH_MODULES_OUT")
    if target:
        atexit.register(_write, Path(target))
