"""How large the heaviest tests run: ``quick`` in ``make test``, ``full`` in ``make test-faults``.

A volume or fuzz test proves the same paths with 2,000 messages as with
10,000; the full figures cost minutes that every ``make test`` would pay. The
full scale is what the fault suite's printed figures report.
"""

from __future__ import annotations

import os
from typing import Final

VARIABLE: Final = "LBTOOLKIT_TEST_SCALE"
SCALES: Final = ("quick", "full")


def _scale() -> str:
    scale = os.environ.get(VARIABLE, "quick")
    if scale not in SCALES:
        msg = f"{VARIABLE}={scale!r}: expected one of {', '.join(SCALES)}"
        raise ValueError(msg)
    return scale


FULL: Final = _scale() == "full"


def scaled(quick: int, full: int) -> int:
    """``full`` when the suite runs at full scale, ``quick`` otherwise."""
    return full if FULL else quick
