"""Interleaved load runs: every side gets one-second slices in turn.

Other work on the machine (the suite shares it) then weighs on every side
alike, and each side's rate is its requests over its own slices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from bench.harness.load import LoadResult

__all__ = ["SLICE_SECONDS", "interleaved", "slices"]

T = TypeVar("T")
SLICE_SECONDS = 1.0


def slices(duration: float) -> int:
    """How many one-second slices make up a measurement of ``duration`` seconds."""
    return max(1, round(duration / SLICE_SECONDS))


def interleaved(
    sides: Sequence[T], count: int, run: Callable[[T], LoadResult], *, reverse: bool = False
) -> dict[T, float]:
    """Requests per second of each side over ``count`` slices each, taken in turn."""
    requests = dict.fromkeys(sides, 0)
    seconds = dict.fromkeys(sides, 0.0)
    order = list(sides)[::-1] if reverse else list(sides)
    for i in range(count):
        for side in order if i % 2 == 0 else order[::-1]:
            result = run(side)
            requests[side] += result.requests
            seconds[side] += result.requests / result.requests_per_second
    return {side: requests[side] / seconds[side] for side in sides}
