"""Repeated measurements summarised as a median with its range."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

__all__ = ["Summary", "fit_line", "r_squared"]


@dataclass(frozen=True, slots=True)
class Summary:
    """The median of repeated measurements, with the smallest and the largest."""

    median: float
    low: float
    high: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: list[float] | tuple[float, ...]) -> Summary:
        if not samples:
            msg = "a summary needs at least one sample"
            raise ValueError(msg)
        values = tuple(samples)
        return cls(statistics.median(values), min(values), max(values), values)

    @property
    def spread(self) -> float:
        """The range relative to the median (0.05: the samples lie within 5 %)."""
        return (self.high - self.low) / self.median if self.median else 0.0


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)`` of ``y = slope * x + intercept``."""
    slope, intercept = statistics.linear_regression([x for x, _ in points], [y for _, y in points])
    return slope, intercept


def r_squared(points: list[tuple[float, float]]) -> float:
    """How much of the variation of ``y`` a straight line explains (1: all of it)."""
    slope, intercept = fit_line(points)
    mean = statistics.fmean(y for _, y in points)
    total = sum((y - mean) ** 2 for _, y in points)
    residual = sum((y - (slope * x + intercept)) ** 2 for x, y in points)
    return 1 - residual / total if total else 1.0
