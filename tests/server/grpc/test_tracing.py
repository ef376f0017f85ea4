"""A server span per call, its parent taken from the incoming traceparent."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, channel

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def call_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    # The start-up's own spans (service.start and its hooks) are exported too.
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    traced = TracerProvider()
    traced.add_span_processor(SimpleSpanProcessor(exporter))
    return traced


async def test_span_has_the_parent_of_the_incoming_traceparent(
    greeter: GreeterKit, exporter: InMemorySpanExporter
) -> None:
    app = greeter.new_app()
    app.tools.traces.use_provider(provider(exporter))
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    async with open_service(app), channel(app) as ch:
        await greeter.stub(ch).SayHello(
            greeter.pb2.HelloRequest(name="x"), metadata=(("traceparent", traceparent),)
        )
    [span] = call_spans(exporter)
    assert span.name == "lbtest.greeter.Greeter/SayHello"
    assert span.kind is SpanKind.SERVER
    assert span.context is not None
    assert span.parent is not None
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.parent.is_remote
    assert dict(span.attributes or {}) == {
        "rpc.system": "grpc",
        "rpc.service": "lbtest.greeter.Greeter",
        "rpc.method": "SayHello",
        "rpc.grpc.status_code": 0,
    }


async def test_server_faults_mark_the_span_as_error(
    greeter: GreeterKit, exporter: InMemorySpanExporter
) -> None:
    app = greeter.new_app()
    app.tools.traces.use_provider(provider(exporter))
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        for kind in ("unexpected", "NotFound"):
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.Fail(greeter.pb2.FailRequest(kind=kind))
    internal, not_found = call_spans(exporter)
    assert internal.status.status_code is StatusCode.ERROR
    assert [e.name for e in internal.events] == ["exception"]
    assert not_found.status.status_code is StatusCode.UNSET  # the client's fault, not the server's
    assert (not_found.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[
        0
    ]


async def test_no_tracing_when_nothing_is_configured(greeter: GreeterKit, stub: object) -> None:
    app = greeter.new_app()
    app.tools.traces.configure({})
    assert not app.tools.traces.enabled
