"""Request metrics: families per transport, label children bound once."""

from __future__ import annotations

import enum

import pytest
from prometheus_client import generate_latest

from lbtoolkit.tools import Metrics
from lbtoolkit.tools._lifecycle_metrics import HookTiming, LifecycleCollector


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_bound_method_counts_by_code_times_and_tracks_in_flight() -> None:
    metrics = Metrics("svc")
    bound = metrics.requests("grpc").bind("svc", "/p.S/M", codes=("OK",))
    assert sample(metrics, "svc_grpc_requests_total", server="svc", method="/p.S/M", code="OK") == 0
    bound.begin()
    assert sample(metrics, "svc_grpc_requests_in_flight", server="svc", method="/p.S/M") == 1
    bound.end("NOT_FOUND", 0.003)
    assert sample(metrics, "svc_grpc_requests_in_flight", server="svc", method="/p.S/M") == 0
    assert (
        sample(metrics, "svc_grpc_requests_total", server="svc", method="/p.S/M", code="NOT_FOUND")
        == 1
    )
    assert (
        sample(
            metrics,
            "svc_grpc_request_duration_seconds_bucket",
            server="svc",
            method="/p.S/M",
            le="0.005",
        )
        == 1
    )
    assert (
        sample(
            metrics,
            "svc_grpc_request_duration_seconds_bucket",
            server="svc",
            method="/p.S/M",
            le="0.0025",
        )
        == 0
    )


def test_families_and_children_are_created_once() -> None:
    metrics = Metrics("svc")
    assert metrics.requests("grpc") is metrics.requests("grpc")
    family = metrics.requests("grpc")
    assert family.bind("svc", "/p.S/M") is family.bind("svc", "/p.S/M")
    assert metrics.requests("http") is not family  # another transport, its own families


def test_two_services_in_one_process_do_not_clash() -> None:
    first, second = Metrics("svc"), Metrics("svc")
    first.requests("grpc").bind("svc", "/p.S/M").begin()
    assert sample(second, "svc_grpc_requests_in_flight", server="svc", method="/p.S/M") is None


class State(enum.Enum):
    STARTING = "starting"
    STARTED = "started"


def test_lifecycle_collector_reads_state_and_timings_when_scraped() -> None:
    metrics = Metrics("svc")
    state: list[State | None] = [None]
    timings = [HookTiming('plugin "pgsql"', "pre_start", 0.25)]
    metrics.registry.register(LifecycleCollector("svc", "1.2.3", lambda: state[0], lambda: timings))
    assert sample(metrics, "lbtoolkit_lifecycle_state", state="started") is None
    state[0] = State.STARTED
    assert sample(metrics, "lbtoolkit_lifecycle_state", state="started") == 1
    assert sample(metrics, "lbtoolkit_lifecycle_state", state="starting") == 0
    assert (
        sample(
            metrics,
            "lbtoolkit_lifecycle_hook_duration_seconds",
            owner='plugin "pgsql"',
            hook="pre_start",
        )
        == 0.25
    )
    assert sample(metrics, "lbtoolkit_service_info", service="svc", version="1.2.3") == 1
    assert b"lbtoolkit_lifecycle_hook_duration_seconds" in generate_latest(metrics.registry)


def test_latencies_fall_in_the_first_bucket_that_holds_them() -> None:
    metrics = Metrics("svc")
    bound = metrics.requests("grpc").bind("svc", "/p.S/M")
    for seconds in (0.001, 0.0011, 20.0):  # on a bound, just above it, past the last
        bound.begin()
        bound.end("OK", seconds)

    def duration(suffix: str, **labels: str) -> float | None:
        name = f"svc_grpc_request_duration_seconds_{suffix}"
        return sample(metrics, name, server="svc", method="/p.S/M", **labels)

    def bucket(le: str) -> float | None:
        return duration("bucket", le=le)

    assert (bucket("0.0005"), bucket("0.001"), bucket("0.0025"), bucket("10.0")) == (0, 1, 2, 2)
    assert bucket("+Inf") == 3
    assert duration("count") == 3
    assert duration("sum") == 0.001 + 0.0011 + 20.0


def test_request_families_clash_with_a_metric_of_the_same_name() -> None:
    from prometheus_client import Counter  # noqa: PLC0415 - only this test registers by hand

    metrics = Metrics("svc")
    metrics.requests("grpc")
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("svc_grpc_requests", "again", registry=metrics.registry)
