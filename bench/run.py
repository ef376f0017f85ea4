"""Run the benchmark suite; write ``bench/RESULTS.md`` and ``bench/results.json``.

Usage: ``python bench/run.py [--only SCENARIO ...] [--repeats N] [--duration S]``
(``--help`` lists the scenarios). ``make bench`` runs it with the project's virtualenv.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    # Run as a script, this folder is on sys.path but the repository is not.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.runner import main as run  # noqa: PLC0415 - importable once the path is set

    return run()


if __name__ == "__main__":
    sys.exit(main())
