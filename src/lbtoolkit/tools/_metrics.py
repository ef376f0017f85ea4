"""The metrics registry a service, its plugins and its users share."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

__all__ = ["Metrics"]


class Metrics:
    """A Prometheus registry per service, so two services in one process never clash."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.registry = CollectorRegistry(auto_describe=True)
