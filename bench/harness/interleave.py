"""Interleaved load runs: every side gets one-second slices in turn.

Other work on the machine (the suite shares it) then weighs on every side
alike. Each side's rate is its requests over its own slices; two sides are
compared turn by turn (:meth:`Turns.ratios`), since the slices of one turn
are taken within seconds of each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bench.harness.load import LoadResult

__all__ = ["SLICE_SECONDS", "Turns", "interleaved", "slices"]

T = TypeVar("T")
SLICE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Turns(Generic[T]):
    """What :func:`interleaved` measured."""

    rates: dict[T, float]
    """Each side's requests per second over all its slices."""
    slices: dict[T, list[float]]
    """Each side's requests per second in each turn, in order."""

    def ratios(self, variant: T, baseline: T) -> list[float]:
        """``variant``'s rate over ``baseline``'s, one per turn."""
        pairs = zip(self.slices[variant], self.slices[baseline], strict=True)
        return [ours / theirs for ours, theirs in pairs]


def slices(duration: float) -> int:
    """How many one-second slices make up a measurement of ``duration`` seconds."""
    return max(1, round(duration / SLICE_SECONDS))


def interleaved(
    sides: Sequence[T], count: int, run: Callable[[T], LoadResult], *, reverse: bool = False
) -> Turns[T]:
    """``count`` turns in which every side runs one slice (the order flips each turn)."""
    requests = dict.fromkeys(sides, 0)
    seconds = dict.fromkeys(sides, 0.0)
    per_turn: dict[T, list[float]] = {side: [] for side in sides}
    order = list(sides)[::-1] if reverse else list(sides)
    for i in range(count):
        for side in order if i % 2 == 0 else order[::-1]:
            result = run(side)
            requests[side] += result.requests
            seconds[side] += result.requests / result.requests_per_second
            per_turn[side].append(result.requests_per_second)
    rates = {side: requests[side] / seconds[side] for side in sides}
    return Turns(rates, per_turn)
