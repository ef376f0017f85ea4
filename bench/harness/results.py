"""One row of the results: a variant measured against its baseline."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.harness.stats import Summary

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Row", "ScenarioResult", "row_from_store", "row_to_store", "throughput_rows"]


@dataclass(slots=True)
class Row:
    """``value`` of ``variant`` and ``baseline_value`` of ``baseline``, same unit.

    ``ratio`` is oriented so that higher is better: ``value / baseline`` for a
    throughput, ``baseline / value`` for a time or a size. ``target`` is the
    ratio to reach, ``None`` where there is none. A row without a baseline is
    information only (its ratio is ``None``).

    ``turn_ratios``: where variant and baseline were measured in turns (a
    slice or block of one, then of the other), the ratio of each turn, oriented
    as ``ratio``; the ratio is then their median. The machine drifts between
    runs by more than the differences measured, and within a turn it weighs on
    both sides alike, so this cancels the drift instead of letting it land on
    one side. Without them the ratio is the ratio of the medians.
    """

    scenario: str
    variant: str
    baseline: str | None
    value: Summary
    baseline_value: Summary | None
    unit: str
    higher_is_better: bool
    target: float | None = None
    notes: list[str] = field(default_factory=list)
    turn_ratios: tuple[float, ...] = ()

    @property
    def ratio(self) -> float | None:
        base = self.baseline_value
        if base is None or base.median == 0 or self.value.median == 0:
            return None
        if self.turn_ratios:
            return statistics.median(self.turn_ratios)
        if self.higher_is_better:
            return self.value.median / base.median
        return base.median / self.value.median

    @property
    def met(self) -> bool | None:
        """Whether the target is reached; ``None`` without a target."""
        ratio = self.ratio
        if self.target is None or ratio is None:
            return None
        return ratio >= self.target

    @property
    def shortfall(self) -> float | None:
        """How far the ratio stays below the target, relative to it (0.07: 7 % short)."""
        ratio = self.ratio
        if self.target is None or ratio is None or ratio >= self.target:
            return None
        return 1 - ratio / self.target

    def to_json(self) -> dict[str, Any]:
        base = self.baseline_value
        ratio = self.ratio
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "baseline": self.baseline,
            "value": _round(self.value.median),
            "baseline_value": None if base is None else _round(base.median),
            "unit": self.unit,
            "ratio": None if ratio is None else round(ratio, 4),
            "target": self.target,
            "value_min": _round(self.value.low),
            "value_max": _round(self.value.high),
            "baseline_min": None if base is None else _round(base.low),
            "baseline_max": None if base is None else _round(base.high),
            "higher_is_better": self.higher_is_better,
            "turns": len(self.turn_ratios),
            "met": self.met,
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class ScenarioResult:
    """The rows of one scenario, and what the report says about them."""

    name: str
    title: str
    description: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # The machine's 1-minute load average when the scenario started and ended:
    # anything above what the suite itself puts on the machine is other work.
    load: tuple[float, float] = (0.0, 0.0)


def _round(value: float) -> float:
    if value == 0:
        return 0.0
    magnitude = abs(value)
    digits = 1 if magnitude >= 1000 else 2 if magnitude >= 10 else 4
    return round(value, digits)


def row_to_store(row: Row) -> dict[str, Any]:
    """Everything about a row, samples included, to rebuild it later."""
    base = row.baseline_value
    return {
        "scenario": row.scenario,
        "variant": row.variant,
        "baseline": row.baseline,
        "value": list(row.value.samples),
        "baseline_value": None if base is None else list(base.samples),
        "unit": row.unit,
        "higher_is_better": row.higher_is_better,
        "target": row.target,
        "notes": row.notes,
        "turn_ratios": list(row.turn_ratios),
    }


def row_from_store(data: dict[str, Any]) -> Row:
    base = data["baseline_value"]
    return Row(
        scenario=data["scenario"],
        variant=data["variant"],
        baseline=data["baseline"],
        value=Summary.of(data["value"]),
        baseline_value=None if base is None else Summary.of(base),
        unit=data["unit"],
        higher_is_better=data["higher_is_better"],
        target=data["target"],
        notes=list(data["notes"]),
        turn_ratios=tuple(data.get("turn_ratios", ())),
    )


def throughput_rows(
    scenario: str,
    variant: str,
    baseline: str,
    *,
    rates: tuple[list[float], list[float]],
    rate_ratios: Sequence[float],
    per_cpu: tuple[list[float], list[float]],
    unit: str,
    whose_cpu: str,
    target: float | None,
) -> list[Row]:
    """A throughput measured in turns: per second, and per CPU-second, which carries ``target``.

    ``rates`` and ``per_cpu`` are (variant, baseline); ``per_cpu`` holds one
    figure per slice, in turn order on both sides, so the slices of one turn
    pair up. ``unit`` counts what is done (``req``, ``calls``); ``whose_cpu``
    names whose CPU time was read (``server``, ``client``).
    """
    ours, theirs = per_cpu
    suffix = f" (per {whose_cpu} CPU-second)"
    return [
        Row(
            scenario=scenario,
            variant=variant,
            baseline=baseline,
            value=Summary.of(rates[0]),
            baseline_value=Summary.of(rates[1]),
            unit=f"{unit}/s",
            higher_is_better=True,
            turn_ratios=tuple(rate_ratios),
        ),
        Row(
            scenario=scenario,
            variant=variant + suffix,
            baseline=baseline + suffix,
            value=Summary.of(ours),
            baseline_value=Summary.of(theirs),
            unit=f"{unit}/CPU-s",
            higher_is_better=True,
            target=target,
            turn_ratios=tuple(a / b for a, b in zip(ours, theirs, strict=True)),
        ),
    ]
