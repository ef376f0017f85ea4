"""Lifecycle metrics, read from the lifecycle when Prometheus scrapes.

Nothing is recorded while the service starts or stops: the collector asks
for the current state and the hook timings at scrape time, so the lifecycle
pays nothing for being observed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["HookTiming", "LifecycleCollector"]


@dataclass(frozen=True, slots=True)
class HookTiming:
    """How long the last run of one lifecycle hook took."""

    owner: str
    hook: str
    seconds: float


class LifecycleCollector(Collector):
    """``lbtoolkit_service_info``, ``lbtoolkit_lifecycle_state``, hook and start durations.

    ``state`` returns the lifecycle's current state (an enum whose members
    are every possible state); ``timings`` the hooks that have run;
    ``start_seconds`` how long the last start took (None before one ended). The state
    gauge is 1 for the current state and 0 for the others, so
    ``lbtoolkit_lifecycle_state{state="failed"} == 1`` is a failed start.
    """

    def __init__(
        self,
        service: str,
        version: str | None,
        state: Callable[[], enum.Enum | None],
        timings: Callable[[], Iterable[HookTiming]],
        start_seconds: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._service = service
        self._version = version or ""
        self._state = state
        self._timings = timings
        self._start_seconds = start_seconds

    def describe(self) -> Iterator[Metric]:
        # Registration must not call collect(): the lifecycle may not exist yet.
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        info, states, hooks, start = self._families()
        info.add_metric([self._service, self._version], 1)
        current = self._state()
        if current is not None:
            for member in type(current):
                states.add_metric([str(member.value)], 1 if member is current else 0)
        for timing in self._timings():
            hooks.add_metric([timing.owner, timing.hook], timing.seconds)
        seconds = self._start_seconds()
        if seconds is not None:
            start.add_metric([], seconds)
        yield from (info, states, hooks, start)

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily
    ]:
        return (
            GaugeMetricFamily(
                "lbtoolkit_service_info",
                "The service's name and version",
                labels=["service", "version"],
            ),
            GaugeMetricFamily(
                "lbtoolkit_lifecycle_state",
                "1 for the lifecycle's current state (started, failed, ...), 0 for the others",
                labels=["state"],
            ),
            GaugeMetricFamily(
                "lbtoolkit_lifecycle_hook_duration_seconds",
                "How long the last run of each lifecycle hook took",
                labels=["owner", "hook"],
            ),
            GaugeMetricFamily(
                "lbtoolkit_lifecycle_start_duration_seconds",
                "How long the last start took: to ready, or to the end of its rollback",
            ),
        )
