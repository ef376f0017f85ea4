"""Calls made while serving a request: deadline, headers, trace context and metrics carried on."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lbtoolkit.client import ChannelPool, ClientCallError
from lbtoolkit.testing import open_service
from tests.client.support import WHO, Replica, Text, declare_replica_service, start_replica
from tests.server.grpc.support import GreeterService, Greeting, channel

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import lbtoolkit
    from lbtoolkit.server import RequestContext
    from tests.server.grpc.support import GreeterKit


class FrontService(GreeterService):
    """SayHello asks the replica service who answers, after ``delay_ms`` of blocking work."""

    errors: ClassVar[list[BaseException]] = []

    def __init__(self, greeting: Greeting, pool: ChannelPool) -> None:
        super().__init__(greeting)
        self.pool = pool

    async def say_hello(self, request: Any, context: RequestContext) -> Any:  # noqa: ARG002
        if request.delay_ms:
            # Blocking on purpose: the caller's deadline passes while the
            # handler runs, without gRPC cancelling it first.
            time.sleep(request.delay_ms / 1000)  # noqa: ASYNC251
        try:
            reply = await self.pool.channel("replica").unary_unary(WHO, Text(value="x"), Text)
        except grpc.aio.AioRpcError as error:
            self.errors.append(error)
            raise
        return self.pb2.HelloReply(message=reply.value)


@pytest.fixture
async def replica() -> AsyncIterator[Replica]:
    declare_replica_service()
    started = await start_replica("r0")
    yield started
    await started.server.stop(None)


def front_app(greeter: GreeterKit, replica: Replica, **environ: str) -> lbtoolkit.Service:
    app = greeter.new_app(
        {"LB_RESOLVER_ENDPOINTS": f"replica={replica.address}", **environ},
        name="front",
        set_service=False,
    )
    app.server.set_service(type("Front", (FrontService,), {"pb2": greeter.pb2}))
    FrontService.errors.clear()
    return app


async def hello(greeter: GreeterKit, app: lbtoolkit.Service, **kwargs: Any) -> Any:
    delay = kwargs.pop("delay_ms", 0)
    async with channel(app) as ch:
        return await greeter.stub(ch).SayHello(
            greeter.pb2.HelloRequest(name="x", delay_ms=delay), **kwargs
        )


async def test_the_call_carries_the_callers_remaining_deadline(
    greeter: GreeterKit, replica: Replica
) -> None:
    app = front_app(greeter, replica)
    async with open_service(app):
        reply = await hello(greeter, app, timeout=2)
        await hello(greeter, app)
    assert reply.message == "r0"
    within_request, without_deadline = replica.remaining
    assert within_request is not None
    # gRPC writes the timeout rounded up to the unit it sends: a few ms over 2 s.
    assert 0 < within_request <= 2.05
    # No deadline from the caller: the client's default, GRPC_CLIENT_TIMEOUT
    # (15s; gRPC rounds the timeout it sends up, to the next unit it can write).
    assert without_deadline is not None
    assert 2 < without_deadline < 16


async def test_a_shorter_default_deadline_wins(greeter: GreeterKit, replica: Replica) -> None:
    app = front_app(greeter, replica, LB_GRPC_CLIENT_TIMEOUT="1s")
    async with open_service(app):
        await hello(greeter, app, timeout=10)
    [remaining] = replica.remaining
    assert remaining is not None
    # gRPC writes the timeout rounded up to the unit it sends: a few ms over 1 s.
    assert 0 < remaining <= 1.05


async def test_a_call_whose_caller_has_no_time_left_is_not_started(
    greeter: GreeterKit, replica: Replica
) -> None:
    app = front_app(greeter, replica)
    async with open_service(app):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await hello(greeter, app, timeout=0.2, delay_ms=400)
        assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        [error] = FrontService.errors
        handled = app.tools.metrics.registry.get_sample_value(
            "front_grpc_client_handled_total",
            {"service": "replica", "method": WHO, "code": "DEADLINE_EXCEEDED"},
        )
    assert isinstance(error, ClientCallError)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "not started" in (error.details() or "")
    assert replica.total == 0
    assert handled is None  # never started, so never counted


async def test_named_headers_and_the_request_id_are_forwarded(
    greeter: GreeterKit, replica: Replica
) -> None:
    app = front_app(greeter, replica, LB_GRPC_CLIENT_PROPAGATE_HEADERS="X-Tenant")
    sent = (("x-request-id", "req-42"), ("x-tenant", "acme"), ("x-private", "no"))
    async with open_service(app):
        await hello(greeter, app, metadata=sent)
    [received] = replica.metadata
    assert received["x-request-id"] == "req-42"
    assert received["x-tenant"] == "acme"
    assert "x-private" not in received


async def test_a_client_span_per_call_its_traceparent_sent(
    greeter: GreeterKit, replica: Replica
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = front_app(greeter, replica)
    app.tools.traces.use_provider(provider)
    async with open_service(app):
        await hello(greeter, app)
    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    [client] = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert client.name == "lbclient.test.Replica/Who"
    assert client.context is not None
    assert server.context is not None
    assert client.parent is not None
    assert client.parent.span_id == server.context.span_id
    assert dict(client.attributes or {}) == {
        "rpc.system": "grpc",
        "rpc.service": "lbclient.test.Replica",
        "rpc.method": "Who",
        "peer.service": "replica",
        "rpc.grpc.status_code": 0,
    }
    [received] = replica.metadata
    trace_id = format(client.context.trace_id, "032x")
    span_id = format(client.context.span_id, "016x")
    assert received["traceparent"].startswith(f"00-{trace_id}-{span_id}-")


async def test_client_metrics_count_calls_by_code(greeter: GreeterKit, replica: Replica) -> None:
    app = front_app(greeter, replica)
    labels = {"service": "replica", "method": WHO}
    async with open_service(app):
        for _ in range(3):
            await hello(greeter, app)
        await replica.server.stop(None)
        with pytest.raises(grpc.aio.AioRpcError):
            await hello(greeter, app, timeout=5)
        registry = app.tools.metrics.registry
        started = registry.get_sample_value("front_grpc_client_started_total", labels)
        ok = registry.get_sample_value("front_grpc_client_handled_total", {**labels, "code": "OK"})
        unavailable = registry.get_sample_value(
            "front_grpc_client_handled_total", {**labels, "code": "UNAVAILABLE"}
        )
        durations = registry.get_sample_value("front_grpc_client_handling_seconds_count", labels)
    assert (started, ok, unavailable, durations) == (4, 3, 1, 4)
