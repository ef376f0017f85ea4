"""RED metrics and server spans of HTTP requests.

Metrics (``<namespace>`` is the service's metric namespace):

- ``<namespace>_http_requests_total{server, method, route, code}``, a counter;
- ``<namespace>_http_request_duration_seconds{server, method, route}``, a histogram;
- ``<namespace>_http_requests_in_flight{server}``, a gauge.

``route`` is the path template (``/v1/users/{id}``), never the raw path, so
the number of series stays bounded; requests that match no route count under
``route=""``. Each route's series is bound once, not per request; its
counts are plain numbers turned into samples when scraped, and the gauge is
read from the server when scraped.

Spans follow OpenTelemetry's HTTP server conventions and take their parent
from the incoming headers through the global propagator. Until an SDK is
installed no span work is done at all.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, ClassVar

from opentelemetry import propagate, trace
from opentelemetry.trace import NoOpTracer, SpanKind, StatusCode
from prometheus_client import CollectorRegistry, Gauge, Histogram

from lbtoolkit.tools._request_metrics import RedCollector

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.context import Context

__all__ = ["HttpMetrics", "RouteStats", "Tracing"]


class HttpMetrics:
    """The HTTP metric families of one registry (shared by the servers using it)."""

    def __init__(self, registry: CollectorRegistry, namespace: str) -> None:
        self.requests = RedCollector(
            f"{namespace}_http" if namespace else "http",
            ("server", "method", "route"),
            requests_help="HTTP requests answered, by route and status code",
            duration_help="Time from the request's arrival to the end of its response",
            buckets=Histogram.DEFAULT_BUCKETS,
        )
        registry.register(self.requests)
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "HTTP requests being served",
            ["server"],
            namespace=namespace,
            registry=registry,
            # With several workers: summed over the running ones, as one process would count.
            multiprocess_mode="livesum",
        )

    _shared: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, HttpMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def of(cls, registry: CollectorRegistry, namespace: str) -> HttpMetrics:
        """The families registered in ``registry``, created on first use."""
        metrics = cls._shared.get(registry)
        if metrics is None:
            metrics = cls._shared[registry] = cls(registry, namespace)
        return metrics


class RouteStats:
    """The metric children of one route of one server, and its requests running now.

    ``label`` names the route in logs (``GET /v1/users/{id}``; ``unmatched``
    for requests that match no route).
    """

    __slots__ = ("in_flight", "label", "record")

    def __init__(self, metrics: HttpMetrics, server: str, method: str, route: str) -> None:
        self.record = metrics.requests.series(server, method, route).record
        self.label = f"{method} {route}" if method else "unmatched"
        self.in_flight = 0


class Tracing:
    """Starts server spans when an OpenTelemetry SDK is installed."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def active(self) -> bool:
        """Whether spans would be recorded: an SDK's tracer stands behind ours."""
        # The API's proxy tracer delegates to a no-op tracer until an SDK is
        # installed, then to the SDK's. Asking it costs an attribute read;
        # trace.get_tracer_provider() reads os.environ on every call.
        real = getattr(self._tracer, "_tracer", self._tracer)
        return not isinstance(real, NoOpTracer)

    def start(
        self, method: str, route: str, path: str, headers: Mapping[str, str]
    ) -> tuple[trace.Span, Context]:
        """Start the span of a request; return it and the context to attach."""
        parent = propagate.extract(headers)
        name = f"{method} {route}" if route else method
        attributes = {"http.request.method": method, "url.path": path}
        if route:
            attributes["http.route"] = route
        span = self._tracer.start_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        return span, trace.set_span_in_context(span, parent)

    @staticmethod
    def finish(span: trace.Span, status: int, error: BaseException | None) -> None:
        span.set_attribute("http.response.status_code", status)
        if error is not None:
            span.record_exception(error)
        if status >= 500:  # noqa: PLR2004 - the convention: only server errors fail a server span
            span.set_status(StatusCode.ERROR)
        span.end()
