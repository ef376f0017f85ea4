"""The runtime's tool set."""

from __future__ import annotations

from lbtoolkit.tools._metrics import Metrics
from lbtoolkit.tools._outages import Outages
from lbtoolkit.tools._traces import Traces
from lbtoolkit.tools.probes._registry import Probes

__all__ = ["Tools"]


class Tools:
    """``runtime.tools``: probes, metrics, traces and the plugins' outages of one service."""

    def __init__(self, service_name: str, namespace: str) -> None:
        self.probes = Probes()
        self.metrics = Metrics(namespace)
        self.traces = Traces(service_name)
        self.outages = Outages()
