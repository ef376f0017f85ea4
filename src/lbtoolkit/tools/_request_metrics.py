"""RED metrics of a transport: requests by method and code, latency, in flight.

A transport binds one :class:`MethodMetrics` per method when it builds its
handlers, so a call touches pre-bound label children and never looks a label
set up again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from collections.abc import Iterable

    from prometheus_client import CollectorRegistry

__all__ = ["LATENCY_BUCKETS", "MethodMetrics", "RequestMetrics"]

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
        self.requests = Counter(
            f"{transport}_requests",
            f"{transport} requests handled, by method and status code",
            ("server", "method", "code"),
            namespace=namespace,
            registry=registry,
        )
        self.duration = Histogram(
            f"{transport}_request_duration_seconds",
            f"Time to handle a {transport} request, by method",
            ("server", "method"),
            namespace=namespace,
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.in_flight = Gauge(
            f"{transport}_requests_in_flight",
            f"{transport} requests being handled, by method",
            ("server", "method"),
            namespace=namespace,
            registry=registry,
        )
        self._bound: dict[tuple[str, str], MethodMetrics] = {}

    def bind(self, server: str, method: str, codes: Iterable[str] = ()) -> MethodMetrics:
        """The metrics of ``method`` on ``server``; ``codes`` start at zero for dashboards."""
        bound = self._bound.get((server, method))
        if bound is None:
            bound = self._bound[server, method] = MethodMetrics(self, server, method)
        for code in codes:
            bound.counter(code)
        return bound


class MethodMetrics:
    """Label children of one method: call :meth:`begin`, then :meth:`end`."""

    __slots__ = ("_codes", "_family", "_labels", "duration", "in_flight")

    def __init__(self, family: RequestMetrics, server: str, method: str) -> None:
        self._labels = (server, method)
        self._family = family
        self.in_flight = family.in_flight.labels(server, method)
        self.duration = family.duration.labels(server, method)
        self._codes: dict[str, Counter] = {}

    def counter(self, code: str) -> Counter:
        """The request counter child of ``code`` (bound on first use)."""
        child = self._codes.get(code)
        if child is None:
            child = self._codes[code] = self._family.requests.labels(*self._labels, code)
        return child

    def begin(self) -> None:
        """A request of this method started."""
        self.in_flight.inc()

    def end(self, code: str, seconds: float) -> None:
        """A request started with :meth:`begin` ended with ``code`` after ``seconds``."""
        self.in_flight.dec()
        self.duration.observe(seconds)
        child = self._codes.get(code)
        if child is None:
            child = self.counter(code)
        child.inc()
