"""Config, typed metric helpers and the public face of the Prometheus plugin."""

from __future__ import annotations

import importlib.metadata
from typing import cast

import pytest
from prometheus_client import Counter, Histogram, generate_latest

from lbtoolkit import LbToolkitError
from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import prometheus
from lbtoolkit.plugins.prometheus import (
    Options,
    PrometheusMetricError,
    PrometheusPlugin,
    new_plugin,
    new_test_plugin,
)
from lbtoolkit.testing import new_test_runtime


def test_defaults() -> None:
    plugin = cast("PrometheusPlugin", new_test_plugin())
    config = plugin.config
    assert not config.server_enabled
    assert (config.server_listen, config.server_port, config.server_path) == (
        "0.0.0.0",  # noqa: S104
        9464,
        "/metrics",
    )
    assert plugin.namespace == "test"
    assert plugin.address is None


def test_two_instances_read_their_own_prefixed_variables() -> None:
    runtime = new_test_runtime(
        "order-service",
        env_prefix="MYSERVICE",
        environ={
            "MYSERVICE_METRICS_SERVER_ENABLED": "true",
            "MYSERVICE_METRICS_SERVER_PORT": "9100",
            "MYSERVICE_BUSINESS_NAMESPACE": "shop",
            "MYSERVICE_BUSINESS_SERVER_PATH": "/business",
        },
    )
    metrics = cast("PrometheusPlugin", new_plugin(runtime, Options("metrics")))
    business = cast("PrometheusPlugin", new_plugin(runtime, Options("business")))
    runtime.config.raise_for_issues()
    assert (metrics.config.server_enabled, metrics.config.server_port) == (True, 9100)
    assert metrics.namespace == "order_service"
    assert (business.namespace, business.config.server_path) == ("shop", "/business")
    assert not business.config.server_enabled
    assert metrics.registry is business.registry is runtime.tools.metrics.registry


def test_bad_variables_are_reported_together() -> None:
    runtime = new_test_runtime(
        "shop",
        env_prefix="MYSERVICE",
        environ={
            "MYSERVICE_METRICS_SERVER_PORT": "70000",
            "MYSERVICE_METRICS_SERVER_PATH": "metrics",
            "MYSERVICE_METRICS_NAMESPACE": "my-shop",
        },
    )
    new_plugin(runtime, Options("metrics"))
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    text = str(caught.value)
    assert "invalid configuration: 3 problems" in text
    for variable in ("SERVER_PORT", "SERVER_PATH", "NAMESPACE"):
        assert f"MYSERVICE_METRICS_{variable}: " in text


def test_helpers_declare_typed_metrics_under_the_namespace() -> None:
    plugin = new_test_plugin(environ={"PROMETHEUS_NAMESPACE": "shop"})
    orders = plugin.counter("orders", "Orders placed", ["status"])
    latency = plugin.histogram("latency", "Request latency", unit="seconds", buckets=[0.1, 1])
    stock = plugin.gauge("stock", "Items in stock")
    sizes = plugin.summary("size", "Order sizes", unit="bytes")
    assert isinstance(orders, Counter)
    assert isinstance(latency, Histogram)
    orders.labels(status="paid").inc(2)
    latency.observe(0.5)
    stock.set(7)
    sizes.observe(10)

    text = generate_latest(plugin.registry).decode()
    assert 'shop_orders_total{status="paid"} 2.0' in text
    assert 'shop_latency_seconds_bucket{le="1.0"} 1.0' in text
    assert "shop_stock 7.0" in text
    assert "shop_size_bytes_count 1.0" in text
    assert "process_cpu_seconds_total" in text  # the service registry has them


def test_declaring_again_returns_the_same_metric() -> None:
    plugin = new_test_plugin()
    first = plugin.counter("requests", "Requests", ["method"])
    assert plugin.counter("requests", "Requests", ("method",)) is first


def test_conflicting_declarations_name_the_metric() -> None:
    plugin = new_test_plugin()
    plugin.counter("requests", "Requests", ["method"])
    with pytest.raises(PrometheusMetricError) as caught:
        plugin.histogram("requests", "Requests")
    assert str(caught.value) == (
        "plugin \"prometheus\" (prometheus): metric 'requests': already declared as a counter "
        "with labels ['method']; now asked for a histogram with labels [], buckets "
        "(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, inf)"
    )
    with pytest.raises(PrometheusMetricError, match="metric 'x': Reserved label metric name: __a"):
        plugin.gauge("x", "Nope", ["__a"])


def test_a_name_taken_in_the_registry_by_someone_else_is_named() -> None:
    plugin = new_test_plugin()
    Counter("jobs", "Jobs", namespace="test", registry=plugin.registry)
    with pytest.raises(PrometheusMetricError, match="metric 'jobs': Duplicated timeseries"):
        plugin.counter("jobs", "Jobs")


def test_info_prints_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    plugin = new_test_plugin(environ={"PROMETHEUS_SERVER_PORT": "0"})
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert text == (
        'plugin "prometheus" (prometheus)\n'
        "  PROMETHEUS_SERVER_ENABLED = false\n"
        "  PROMETHEUS_SERVER_LISTEN  = 0.0.0.0\n"
        "  PROMETHEUS_SERVER_PORT    = 0\n"
        "  PROMETHEUS_SERVER_PATH    = /metrics\n"
        "  PROMETHEUS_NAMESPACE      ="
    )


def test_public_api_is_sorted_and_lives_in_the_package() -> None:
    exported = list(prometheus.__all__)
    assert exported == sorted(exported)
    for name in exported:
        value = getattr(prometheus, name)
        if isinstance(value, type):
            assert value.__module__ == "lbtoolkit.plugins.prometheus", name
    assert issubclass(prometheus.PrometheusServerError, LbToolkitError)
    assert issubclass(prometheus.PrometheusServerError, OSError)
    assert issubclass(prometheus.PrometheusMetricError, ValueError)


def test_entry_point_finds_the_plugin_by_name() -> None:
    (entry,) = importlib.metadata.entry_points(group="lbtoolkit.plugins", name="prometheus")
    assert entry.load() is prometheus
