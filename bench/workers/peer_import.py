"""Import time of a hello service: import its module and build its app, no I/O.

Usage: ``python -m bench.workers.peer_import MODULE`` prints ``{"seconds": s}``:
the wall time of ``import MODULE`` plus ``MODULE.build()`` in this fresh interpreter.
"""

from __future__ import annotations

import importlib
import sys
import time

from bench.workers.timing import emit


def main(module: str) -> None:
    # emit's own module is imported already: only what the service needs is timed.
    began = time.perf_counter()
    importlib.import_module(module).build()
    emit({"seconds": time.perf_counter() - began})


if __name__ == "__main__":
    main(sys.argv[1])
