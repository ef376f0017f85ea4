"""RED metrics of a transport: requests by method and code, latency, in flight.

A transport binds one :class:`MethodMetrics` per method when it builds its
handlers, so a call never looks a label set up; it adds to plain numbers
that become Prometheus samples only when the registry is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, Any, cast

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

__all__ = ["LATENCY_BUCKETS", "MethodMetrics", "RedCollector", "RequestMetrics", "Series"]

# Finer than prometheus-client's default at the low end: most RPCs of a
# healthy service finish within a few milliseconds.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class Series:
    """The counts of one label set: requests by code, a latency histogram, calls in flight.

    Plain integers and a bucket array, turned into samples only when scraped:
    recording a call costs a few additions instead of prometheus-client's
    locked counter and histogram updates. Calls are recorded from the event
    loop's thread; a scrape from another thread copies what it reads.
    """

    __slots__ = ("_bounds", "buckets", "codes", "in_flight", "labels", "total")

    def __init__(self, labels: tuple[str, ...], bounds: tuple[float, ...]) -> None:
        self.labels = labels
        self._bounds = bounds
        # Per bucket (not cumulative); the last one is +Inf.
        self.buckets = [0] * (len(bounds) + 1)
        self.codes: dict[Any, int] = {}
        self.total = 0.0
        self.in_flight = 0

    def record(self, code: object, seconds: float) -> None:
        """A request ended with ``code`` (rendered with ``str``) after ``seconds``."""
        self.buckets[bisect_left(self._bounds, seconds)] += 1
        self.total += seconds
        # Most calls end with a code seen before: one lookup instead of get-then-set.
        try:
            self.codes[code] += 1
        except KeyError:
            self.codes[code] = 1


class MethodMetrics(Series):
    """The series of one method: call :meth:`begin`, then :meth:`end`."""

    __slots__ = ()

    def begin(self) -> None:
        """A request of this method started."""
        self.in_flight += 1

    def end(self, code: str, seconds: float) -> None:
        """A request started with :meth:`begin` ended with ``code`` after ``seconds``."""
        self.in_flight -= 1
        self.record(code, seconds)


class RedCollector(Collector):
    """A request counter, a latency histogram and optionally an in-flight gauge.

    ``{prefix}_requests_total{labels..., code}``,
    ``{prefix}_request_duration_seconds{labels...}`` and, with
    ``in_flight_help``, ``{prefix}_requests_in_flight{labels...}``, read from
    the :class:`Series` handed out by :meth:`series`.
    """

    def __init__(
        self,
        prefix: str,
        labels: Sequence[str],
        *,
        requests_help: str,
        duration_help: str,
        in_flight_help: str | None = None,
        buckets: Sequence[float] = LATENCY_BUCKETS,
        series_type: type[Series] = Series,
    ) -> None:
        self._prefix = prefix
        self._labels = list(labels)
        self._requests_help = requests_help
        self._duration_help = duration_help
        self._in_flight_help = in_flight_help
        self._bounds = tuple(float(bound) for bound in buckets if bound != float("inf"))
        # Written as prometheus-client writes its own histograms' bounds.
        le = cast("Callable[[float], str]", floatToGoString)
        self._les = [*(le(bound) for bound in self._bounds), "+Inf"]
        self._series_type = series_type
        self._series: dict[tuple[str, ...], Series] = {}

    def series(self, *labels: str) -> Series:
        """The series of ``labels`` (one per label set, created on first use)."""
        found = self._series.get(labels)
        if found is None:
            found = self._series[labels] = self._series_type(labels, self._bounds)
        return found

    def describe(self) -> Iterator[Metric]:
        return self._families([])

    def collect(self) -> Iterator[Metric]:
        return self._families(list(self._series.values()))

    def _families(self, series: list[Series]) -> Iterator[Metric]:
        prefix, labels = self._prefix, self._labels
        requests = CounterMetricFamily(
            f"{prefix}_requests", self._requests_help, labels=[*labels, "code"]
        )
        duration = HistogramMetricFamily(
            f"{prefix}_request_duration_seconds", self._duration_help, labels=labels
        )
        in_flight = None
        if self._in_flight_help is not None:
            in_flight = GaugeMetricFamily(
                f"{prefix}_requests_in_flight", self._in_flight_help, labels=labels
            )
        for one in series:
            values = list(one.labels)
            for code, count in list(one.codes.items()):
                requests.add_metric([*values, str(code)], count)
            cumulative, running = [], 0
            for le, count in zip(self._les, list(one.buckets), strict=True):
                running += count
                cumulative.append((le, running))
            duration.add_metric(values, cumulative, one.total)
            if in_flight is not None:
                in_flight.add_metric(values, one.in_flight)
        yield requests
        yield duration
        if in_flight is not None:
            yield in_flight


class RequestMetrics:
    """The three metric families of one transport, under the service's namespace.

    ``{namespace}_{transport}_requests_total{server, method, code}``,
    ``{namespace}_{transport}_request_duration_seconds{server, method}`` (a
    histogram) and ``{namespace}_{transport}_requests_in_flight{server, method}``.
    For gRPC ``method`` is the full path (``/pkg.Service/Method``) and ``code``
    the status name (``OK``, ``NOT_FOUND``).
    """

    def __init__(self, registry: CollectorRegistry, transport: str, namespace: str = "") -> None:
        self.transport = transport
        self.collector = RedCollector(
            f"{namespace}_{transport}" if namespace else transport,
            ("server", "method"),
            requests_help=f"{transport} requests handled, by method and status code",
            duration_help=f"Time to handle a {transport} request, by method",
            in_flight_help=f"{transport} requests being handled, by method",
            series_type=MethodMetrics,
        )
        registry.register(self.collector)

    def bind(self, server: str, method: str, codes: Iterable[str] = ()) -> MethodMetrics:
        """The metrics of ``method`` on ``server``; ``codes`` start at zero for dashboards."""
        bound = self.collector.series(server, method)
        assert isinstance(bound, MethodMetrics)  # noqa: S101 - the collector's series_type
        for code in codes:
            bound.codes.setdefault(code, 0)
        return bound
