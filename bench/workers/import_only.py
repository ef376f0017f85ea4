"""Import-only baseline: load the third-party and standard modules a service loaded.

Usage: ``python -m bench.workers.import_only MODULES_FILE`` (written by a
service run with ``BENCH_MODULES_OUT``); lbtoolkit's and the generated modules
are skipped, so the difference to the service's own run is lbtoolkit's cost.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path

from bench.workers.modules import OURS


def main(path: str) -> None:
    for name in Path(path).read_text().split():
        if name.split(".", 1)[0] in OURS or name in sys.modules:
            continue
        with contextlib.suppress(Exception):
            importlib.import_module(name)


if __name__ == "__main__":
    main(sys.argv[1])
