"""The start-up timeline: when each hook of a start ran, and how it ended.

Offsets are seconds on the monotonic ``time.perf_counter`` clock, counted
from the moment ``start()`` began; the wall-clock time of that moment is kept
too, so the records can be exported as spans after the fact.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from opentelemetry.trace import Status, StatusCode, set_span_in_context

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from lbtoolkit.tools import Traces

__all__ = ["HookOutcome", "HookRecord", "Timeline", "render_timeline"]

# Columns of the bar drawn after each row: wide enough to see overlap, short
# enough for one log line.
_BAR_WIDTH = 24


class HookOutcome(enum.Enum):
    """How a hook ended."""

    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed out"


@dataclass(frozen=True, slots=True)
class HookRecord:
    """One hook call of a start: who, which hook, at which step and wave, when, how it ended.

    ``start`` and ``end`` are seconds since the start began (monotonic clock);
    ``wave`` is the 1-based dependency wave of a plugin or package hook, else None.
    """

    owner: str
    hook: str
    step: str
    wave: int | None
    start: float
    end: float
    outcome: HookOutcome

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def label(self) -> str:
        return f"{self.owner} {self.hook}"


@dataclass(slots=True)
class Timeline:
    """The hook records of the last start (and of its rollback, if it failed), in end order."""

    origin: float = field(default_factory=time.perf_counter)
    origin_unix_ns: int = field(default_factory=time.time_ns)
    step: str = ""
    records: list[HookRecord] = field(default_factory=list)
    finished: float | None = None

    def restart(self) -> None:
        """Start counting from now, with no record."""
        self.origin, self.origin_unix_ns = time.perf_counter(), time.time_ns()
        self.records.clear()
        self.finished = None

    def now(self) -> float:
        """Seconds since the start began."""
        return time.perf_counter() - self.origin

    def add(
        self, owner: str, hook: str, wave: int | None, start: float, outcome: HookOutcome
    ) -> None:
        self.records.append(HookRecord(owner, hook, self.step, wave, start, self.now(), outcome))

    def finish(self) -> None:
        self.finished = self.now()

    def mark_timed_out(self, labels: Collection[str]) -> None:
        """Re-label as timed out the cancelled records of the hooks a start budget cut short."""
        self.records[:] = [
            replace(r, outcome=HookOutcome.TIMED_OUT)
            if r.outcome is HookOutcome.CANCELLED and r.label in labels
            else r
            for r in self.records
        ]

    def export_spans(self, traces: Traces, service: str) -> None:
        """One ``service.start`` span with a child span per hook, if tracing is on."""
        if not self.records or not traces.enabled:
            return
        tracer = traces.tracer("lbtoolkit.lifecycle")
        end = self.finished if self.finished is not None else max(r.end for r in self.records)
        failed = [r for r in self.records if r.outcome is not HookOutcome.OK]
        parent = tracer.start_span(
            "service.start",
            start_time=self._unix_ns(0.0),
            attributes={"service.name": service, "lbtoolkit.hooks": len(self.records)},
        )
        if failed:
            parent.set_status(
                Status(StatusCode.ERROR, f"{failed[0].label} {failed[0].outcome.value}")
            )
        context = set_span_in_context(parent)
        for record in sorted(self.records, key=lambda r: r.start):
            attributes: dict[str, str | int] = {
                "lbtoolkit.owner": record.owner,
                "lbtoolkit.hook": record.hook,
                "lbtoolkit.step": record.step,
                "lbtoolkit.outcome": record.outcome.value,
            }
            if record.wave is not None:
                attributes["lbtoolkit.wave"] = record.wave
            child = tracer.start_span(
                record.label,
                context=context,
                start_time=self._unix_ns(record.start),
                attributes=attributes,
            )
            if record.outcome is not HookOutcome.OK:
                child.set_status(Status(StatusCode.ERROR, record.outcome.value))
            child.end(end_time=self._unix_ns(record.end))
        parent.end(end_time=self._unix_ns(end))

    def _unix_ns(self, offset: float) -> int:
        return self.origin_unix_ns + round(offset * 1e9)


def render_timeline(records: Sequence[HookRecord]) -> str:
    """The records as one table: offsets and durations in ms, outcome, wave, hook, and a bar.

    The bar places each hook on the span of the whole start, so hooks that
    overlapped show bars side by side; rows come in start order.
    """
    if not records:
        return "no hook ran"
    rows = sorted(records, key=lambda r: (r.start, r.end))
    span = max(r.end for r in rows) or 1e-9
    header = ("start ms", "end ms", "took ms", "outcome", "wave", "step", "hook")
    cells = [
        (
            f"{r.start * 1e3:.1f}",
            f"{r.end * 1e3:.1f}",
            f"{r.duration * 1e3:.1f}",
            r.outcome.value,
            "" if r.wave is None else str(r.wave),
            r.step,
            r.label,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    numeric = {0, 1, 2, 4}

    def line(row: Sequence[str], bar: str) -> str:
        texts = [
            text.rjust(width) if index in numeric else text.ljust(width)
            for index, (text, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join([*texts, bar]).rstrip()

    lines = [line(header, "")]
    for record, row in zip(rows, cells, strict=True):
        first = min(int(record.start / span * _BAR_WIDTH), _BAR_WIDTH - 1)
        last = max(first + 1, round(record.end / span * _BAR_WIDTH))
        lines.append(line(row, f"|{' ' * first}{'#' * (last - first)}{' ' * (_BAR_WIDTH - last)}|"))
    return "\n".join(lines)
