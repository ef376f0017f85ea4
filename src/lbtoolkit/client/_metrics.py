"""Client RED metrics: calls started, handled by status code, and their duration.

``{namespace}_grpc_client_started_total{service, method}``,
``{namespace}_grpc_client_handled_total{service, method, code}`` and the
histogram ``{namespace}_grpc_client_handling_seconds{service, method}``;
``service`` is the name the call was made to (``users``), ``method`` the
full gRPC path. Each method's series is bound once, so a call adds to plain
numbers that become samples only when scraped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from lbtoolkit.tools._request_metrics import MethodMetrics

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prometheus_client.metrics_core import Metric

__all__ = ["ClientMetrics"]

# Calls cross the network (and may be retried): the buckets reach further than
# a server's, whose requests mostly end within milliseconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ClientMetrics(Collector):
    """The client's metric families; register it in the service's registry."""

    def __init__(self, namespace: str = "") -> None:
        self._prefix = f"{namespace}_grpc_client" if namespace else "grpc_client"
        self._bounds = tuple(float(b) for b in _BUCKETS)
        le = cast("Callable[[float], str]", floatToGoString)
        self._les = [*(le(b) for b in self._bounds), "+Inf"]
        self._series: dict[tuple[str, str], MethodMetrics] = {}

    def bind(self, service: str, method: str) -> MethodMetrics:
        """The series of calls of ``method`` to ``service``: ``begin()``, then ``end(code, s)``."""
        found = self._series.get((service, method))
        if found is None:
            found = self._series[service, method] = MethodMetrics((service, method), self._bounds)
        return found

    def describe(self) -> Iterator[Metric]:
        return self._families([])

    def collect(self) -> Iterator[Metric]:
        return self._families(list(self._series.values()))

    def _families(self, series: list[MethodMetrics]) -> Iterator[Metric]:
        prefix, labels = self._prefix, ["service", "method"]
        started = CounterMetricFamily(
            f"{prefix}_started", "Calls to other services started, by method", labels=labels
        )
        handled = CounterMetricFamily(
            f"{prefix}_handled",
            "Calls to other services ended, by method and status code",
            labels=[*labels, "code"],
        )
        seconds = HistogramMetricFamily(
            f"{prefix}_handling_seconds",
            "Time from start to end of a call to another service, by method",
            labels=labels,
        )
        for one in series:
            values = list(one.labels)
            codes = list(one.codes.items())
            started.add_metric(values, sum(count for _, count in codes) + one.in_flight)
            for code, count in codes:
                handled.add_metric([*values, str(code)], count)
            cumulative, running = [], 0
            for le, count in zip(self._les, list(one.buckets), strict=True):
                running += count
                cumulative.append((le, running))
            seconds.add_metric(values, cumulative, one.total)
        yield started
        yield handled
        yield seconds
