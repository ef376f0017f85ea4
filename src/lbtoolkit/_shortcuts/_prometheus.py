"""prometheus-client: a registry's collectors, and function gauges written to their files.

Not speed tricks: prometheus-client offers no public way to list what a
registry holds, nor to write a ``Gauge.set_function`` gauge's value to its
multiprocess file. Relies on ``CollectorRegistry._lock`` and
``_collector_to_names``, on a gauge's ``_labelnames`` and ``_metrics`` (its
labelled children), on a child's ``_value`` (the store ``set()`` writes: a
file in multiprocess mode) and ``_child_samples()`` (the function's sample
once ``set_function`` was called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Gauge
    from prometheus_client.registry import Collector

__all__ = ["collectors", "store_function_values"]


def collectors(registry: CollectorRegistry) -> list[Collector]:
    """Every collector registered with ``registry``, in registration order."""
    with registry._lock:
        return list(registry._collector_to_names)


def store_function_values(gauge: Gauge) -> None:
    """Write what each child of ``gauge`` reports into the store ``set()`` writes.

    In multiprocess mode a ``set_function`` gauge's file keeps the last value
    ``set()`` (0): the function is only called when the process's own
    registry is collected, which a supervisor reading the files never does.
    """
    children = list(gauge._metrics.values()) if gauge._labelnames else [gauge]
    for child in children:
        stored: Any = getattr(child, "_value")  # noqa: B009 - mypy does not know the store
        for sample in child._child_samples():
            if stored.get() != sample.value:
                stored.set(sample.value)
