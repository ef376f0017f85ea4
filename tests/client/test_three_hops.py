"""HTTP -> service A -> gRPC -> service B -> gRPC -> service C: one trace, a shrinking deadline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lbtoolkit.client import ChannelPool
from lbtoolkit.config import ConfigController
from lbtoolkit.testing import open_service
from lbtoolkit.tools import Tools
from tests.client.test_in_request import front_app, replica  # noqa: F401 - its fixture
from tests.server.http.conftest import protos  # noqa: F401 - the compiled HTTP test protos
from tests.server.http.support import client, open_server, spec_of
from tests.server.http.users import UsersService

if TYPE_CHECKING:
    from types import ModuleType, SimpleNamespace

    from lbtoolkit.server import RequestContext
    from tests.client.support import Replica
    from tests.server.grpc.support import GreeterKit

CALLER_TIMEOUT = 3.0


class ServiceA(UsersService):
    """``Sleep`` over HTTP asks service B's ``SayHello`` first."""

    def __init__(self, pb: ModuleType, pool: ChannelPool, greeter: GreeterKit) -> None:
        super().__init__(pb)
        self._pool = pool
        self._greeter = greeter

    async def sleep(self, request: Any, context: RequestContext) -> Any:
        pb2 = self._greeter.pb2
        await self._pool.channel("b").unary_unary(
            "/lbtest.greeter.Greeter/SayHello", pb2.HelloRequest(name="a"), pb2.HelloReply
        )
        return await super().sleep(request, context)


def traced(tools: Tools, exporter: InMemorySpanExporter) -> Tools:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tools.traces.use_provider(provider)
    return tools


async def test_one_trace_and_a_shrinking_deadline_across_three_hops(
    protos: SimpleNamespace,  # noqa: F811 - the fixture imported above
    greeter: GreeterKit,
    replica: Replica,  # noqa: F811 - the fixture imported above
) -> None:
    exporter = InMemorySpanExporter()
    service_b = front_app(greeter, replica)  # asks C (the replica) over gRPC
    traced(service_b.tools, exporter)
    async with open_service(service_b):
        environ = {"LB_RESOLVER_ENDPOINTS": f"b=127.0.0.1:{service_b.server.grpc.port}"}
        tools_a = traced(Tools("a", "a"), exporter)
        pool = ChannelPool.configured(
            ConfigController("LB", environ=environ), environ=environ, tools=tools_a
        )
        service_a = ServiceA(protos.users, pool, greeter)
        spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], ServiceA)
        try:
            async with (
                open_server([(spec, service_a)], tools=tools_a) as server,
                client(server) as http,
            ):
                answer = await http.get(
                    "/v1/sleep/1", headers={"grpc-timeout": f"{CALLER_TIMEOUT:g}S"}
                )
        finally:
            await pool.close()
    assert answer.status_code == 200, answer.text

    # Service B's start-up has a trace of its own: the calls' spans are read.
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    clients = [s for s in spans if s.kind is SpanKind.CLIENT]
    trace_ids = {
        format(s.context.trace_id, "032x") for s in (*servers, *clients) if s.context is not None
    }
    # A's HTTP span, B's gRPC span; A's call to B and B's call to C.
    assert len(servers) >= 2
    assert len(clients) == 2
    [received_by_c] = replica.metadata
    trace_at_c = received_by_c["traceparent"].split("-")[1]
    assert trace_ids == {trace_at_c}, "every hop is in one trace"

    [remaining_at_c] = replica.remaining
    assert remaining_at_c is not None
    assert 0 < remaining_at_c < CALLER_TIMEOUT
