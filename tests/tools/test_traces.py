"""Tracing is chosen by OTEL_* variables; none configured means no tracing at all."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lbtoolkit.tools import Traces, TracingConfigError


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record what would become the global provider, leaving the real one alone."""
    calls: list[Any] = []
    monkeypatch.setattr(trace, "set_tracer_provider", calls.append)
    return calls


def test_nothing_configured_means_no_tracing() -> None:
    traces = Traces("svc")
    traces.configure({})
    assert not traces.enabled
    assert not traces.tracer().start_span("x").is_recording()


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"},
    ],
)
def test_tracing_can_be_switched_off(environ: dict[str, str]) -> None:
    traces = Traces("svc")
    traces.configure(environ)
    assert not traces.enabled


def test_a_named_exporter_builds_a_provider_for_the_service(installed: list[Any]) -> None:
    traces = Traces("svc", version="1.0")
    traces.configure({"OTEL_TRACES_EXPORTER": "console"})
    assert traces.enabled
    provider = traces._provider
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "svc"
    assert provider.resource.attributes["service.version"] == "1.0"
    assert installed == [provider]  # shared with instrumentation libraries
    traces.shutdown()


def test_an_exporter_that_is_not_installed_is_reported() -> None:
    traces = Traces("svc")
    with pytest.raises(TracingConfigError) as raised:
        traces.configure({"OTEL_TRACES_EXPORTER": "zipkin_json"})
    assert str(raised.value).startswith(
        "OTEL_TRACES_EXPORTER: no span exporter named 'zipkin_json' is installed (installed: "
    )
    assert str(raised.value).endswith(
        "Hint: install the package that provides the 'zipkin_json' span exporter, "
        "or unset OTEL_TRACES_EXPORTER"
    )


@pytest.mark.skipif(
    bool(entry_points(group="opentelemetry_traces_exporter", name="otlp")),
    reason="the otlp exporter is installed here",
)
def test_an_otlp_endpoint_alone_asks_for_the_otlp_exporter() -> None:
    traces = Traces("svc")
    with pytest.raises(TracingConfigError) as raised:
        traces.configure({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"})
    assert raised.value.exporter == "otlp"
    assert "Hint: pip install opentelemetry-exporter-otlp" in str(raised.value)


def test_a_provider_installed_globally_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = TracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    traces = Traces("svc")
    traces.configure({})
    assert traces.enabled


def test_server_span_takes_its_parent_from_the_carrier() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traces = Traces("svc")
    traces.use_provider(provider)
    carrier = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    span = traces.start_server_span(traces.tracer(), "GET /x", carrier, {"k": "v"})
    assert trace.get_current_span() is span.span  # current while the request runs
    span.fail("INTERNAL", RuntimeError("boom"))
    span.end()
    assert trace.get_current_span() is not span.span
    [finished] = exporter.get_finished_spans()
    assert finished.parent is not None
    assert format(finished.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert finished.status.description == "INTERNAL"
    assert [e.name for e in finished.events] == ["exception"]
