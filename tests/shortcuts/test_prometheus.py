"""What the prometheus-client shortcuts assume of prometheus-client, checked against the release."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily

from lbtoolkit._shortcuts._prometheus import collectors, store_function_values

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric


class Computed:
    """A collector that computes its sample when collected, as the toolkit's own do."""

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("computed", "computed when scraped", value=1)


def stored(gauge: Gauge) -> float:
    """The value ``set()`` last wrote: what a multiprocess file would hold."""
    value: float = gauge._value.get()
    return value


def test_collectors_lists_what_the_registry_holds_in_registration_order() -> None:
    registry = CollectorRegistry()
    requests = Counter("requests", "requests served", registry=registry)
    computed = Computed()
    registry.register(computed)
    depth = Gauge("depth", "queue depth", registry=registry)
    assert collectors(registry) == [requests, computed, depth]
    registry.unregister(computed)
    assert collectors(registry) == [requests, depth]


def test_an_empty_registry_has_no_collectors() -> None:
    assert collectors(CollectorRegistry()) == []


def test_a_function_gauge_has_its_value_stored_where_set_writes() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("open", "open connections", registry=registry)
    gauge.set_function(lambda: 7.0)
    assert stored(gauge) == 0.0  # the function is only called when collected
    store_function_values(gauge)
    assert stored(gauge) == 7.0
    # Collecting still gives the function's value.
    assert registry.get_sample_value("open") == 7.0


def test_each_labelled_child_has_its_own_function_stored() -> None:
    gauge = Gauge("pool", "pool size", ["pool"], registry=CollectorRegistry())
    gauge.labels("read").set_function(lambda: 3.0)
    gauge.labels("write").set_function(lambda: 4.0)
    store_function_values(gauge)
    assert stored(gauge.labels("read")) == 3.0
    assert stored(gauge.labels("write")) == 4.0


def test_a_gauge_without_a_function_keeps_what_was_set() -> None:
    gauge = Gauge("plain", "set by hand", registry=CollectorRegistry())
    gauge.set(5.0)
    store_function_values(gauge)
    assert stored(gauge) == 5.0
