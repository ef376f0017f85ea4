"""The metrics registry a service, its plugins and its users share."""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)

from lbtoolkit.tools._request_metrics import RequestMetrics

__all__ = ["Metrics"]


class Metrics:
    """A Prometheus registry per service, so two services in one process never clash.

    Plugins and users add their own metrics with ``registry=metrics.registry``;
    the transports record their requests through :meth:`requests`. The
    process, platform and garbage-collector collectors are included, as in
    prometheus-client's default registry.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self._requests: dict[str, RequestMetrics] = {}

    def requests(self, transport: str) -> RequestMetrics:
        """The request metrics of ``transport`` (``"grpc"``, ``"http"``), created once."""
        metrics = self._requests.get(transport)
        if metrics is None:
            metrics = self._requests[transport] = RequestMetrics(
                self.registry, transport, self.namespace
            )
        return metrics
