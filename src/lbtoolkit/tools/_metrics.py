"""The metrics registry a service, its plugins and its users share."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Gauge,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from lbtoolkit._shortcuts._prometheus import collectors, store_function_values
from lbtoolkit.tools._request_metrics import RequestMetrics

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

__all__ = [
    "GAUGE_MODES",
    "Metrics",
    "MetricsSnapshot",
    "forget_process",
    "gauge_mode",
    "workers_collector",
]


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
        # Set in a worker of several: a metrics listener (host, port, path) a
        # plugin would open is opened once by the supervisor instead, serving
        # every worker's metrics merged.
        self.delegate_listener: Callable[[str, int, str], None] | None = None

    def requests(self, transport: str) -> RequestMetrics:
        """The request metrics of ``transport`` (``"grpc"``, ``"http"``), created once."""
        metrics = self._requests.get(transport)
        if metrics is None:
            metrics = self._requests[transport] = RequestMetrics(
                self.registry, transport, self.namespace
            )
        return metrics


# How the gauges lbtoolkit defines combine across worker processes. "live"
# modes forget a worker once it exits (its files are removed), so a dead
# worker's requests in flight do not linger. Gauges not listed take ``livemax``:
# the right answer for "info" gauges (1 in every worker) and durations, and an
# upper bound for anything else.
GAUGE_MODES: dict[str, str] = {
    "lbtoolkit_lifecycle_state": "livesum",  # how many workers are in each state
}
_IN_FLIGHT_SUFFIX = "_requests_in_flight"  # the transports' in-flight gauges: summed
_DEFAULT_GAUGE_MODE = "livemax"
_OWN_FILES = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)


def gauge_mode(name: str) -> str:
    """The multiprocess mode a gauge named ``name`` is combined with across workers."""
    if name in GAUGE_MODES:
        return GAUGE_MODES[name]
    return "livesum" if name.endswith(_IN_FLIGHT_SUFFIX) else _DEFAULT_GAUGE_MODE


class MetricsSnapshot:
    """Copies a worker's collected metrics into prometheus-client's multiprocess files.

    prometheus-client's own ``Counter``, ``Gauge``, ``Histogram`` and
    ``Summary`` already write to ``PROMETHEUS_MULTIPROC_DIR`` in a worker
    (the supervisor sets it before the worker imports anything). The
    collectors that compute samples when scraped (requests, lifecycle) have
    no file: :meth:`write` collects them and stores their current values in
    files of the same format, named ``{type}_snapshot-{pid}.db``, which the
    supervisor's ``MultiProcessCollector`` merges with the others.
    """

    def __init__(self, registry: CollectorRegistry, directory: str, pid: int) -> None:
        self._registry = registry
        self._directory = directory
        self._process = f"snapshot-{pid}"
        self._files: dict[str, MmapedDict] = {}

    def write(self) -> None:
        """Store the current value of every computed sample."""
        self._store_function_gauges()
        now = time.time()
        for collector in self._computed_collectors():
            for family in collector.collect():
                for prefix, key, value in _entries(family):
                    self._file(prefix).write_value(key, value, now)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        for file in self._files.values():
            file.close()  # type: ignore[no-untyped-call]
        self._files.clear()

    def _file(self, prefix: str) -> MmapedDict:
        file = self._files.get(prefix)
        if file is None:
            path = os.path.join(self._directory, f"{prefix}_{self._process}.db")  # noqa: PTH118
            file = self._files[prefix] = MmapedDict(path)  # type: ignore[no-untyped-call]
        return file

    def _store_function_gauges(self) -> None:
        """Write the value of each ``Gauge.set_function`` gauge into its own file.

        In multiprocess mode such a gauge's file keeps the last value ``set()``
        (0): the function is only called when the worker's own registry is
        collected, which the supervisor never does.
        """
        for gauge in collectors(self._registry):
            if isinstance(gauge, Gauge):
                store_function_values(gauge)

    def _computed_collectors(self) -> list[Collector]:
        return [
            c
            for c in collectors(self._registry)
            if not isinstance(c, MetricWrapperBase | MultiProcessCollector) and c not in _OWN_FILES
        ]


def _entries(family: Metric) -> Iterator[tuple[str, str, float]]:
    """``(file prefix, key, value)`` of each sample, as multiprocess mode stores it."""
    name, help_text = family.name, family.documentation
    if family.type in ("counter", "summary"):
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                yield family.type, _key(name, sample.name, sample.labels, help_text), sample.value
    elif family.type == "histogram":
        # Collected buckets are cumulative; the files hold each bucket's own count.
        below: dict[tuple[tuple[str, str], ...], float] = {}
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                rest = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
                value = sample.value - below.get(rest, 0.0)
                below[rest] = sample.value
                yield "histogram", _key(name, sample.name, sample.labels, help_text), value
            elif sample.name.endswith("_sum"):
                yield "histogram", _key(name, sample.name, sample.labels, help_text), sample.value
    else:
        prefix = f"gauge_{gauge_mode(name)}"
        for sample in family.samples:
            yield prefix, _key(name, sample.name, sample.labels, help_text), sample.value


def _key(metric: str, sample: str, labels: dict[str, str], help_text: str) -> str:
    return mmap_key(metric, sample, list(labels), list(labels.values()), help_text)


def workers_collector(directory: str) -> MultiProcessCollector:
    """What the supervisor serves: every worker's files merged (counters summed)."""
    return MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]


def forget_process(directory: str, pid: int) -> None:
    """Remove the ``live*`` gauge files of an exited worker; its counters stay counted."""
    for mode in ("liveall", "livesum", "livemax", "livemin", "livemostrecent"):
        for process in (str(pid), f"snapshot-{pid}"):
            path = Path(directory) / f"gauge_{mode}_{process}.db"
            path.unlink(missing_ok=True)
