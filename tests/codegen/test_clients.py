"""Generated clients against a real gRPC server built from a generated spec."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio
from google.protobuf import empty_pb2

from lbtoolkit.client import ChannelPool
from tests.codegen.support import typed_module

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from lbtoolkit.spec import ServiceSpec


class Reports:
    """The Reports service; the handlers this test builds pass no context."""

    def __init__(self, pb: Any) -> None:
        self.pb = pb

    async def build(self, request: Any, _context: object) -> Any:
        return self.pb.BuildResponse(body=f"report {request.name}")

    async def follow(self, request: Any, _context: object) -> AsyncIterator[Any]:
        for part in range(3):
            yield self.pb.BuildResponse(body=f"{request.name} {part}")

    async def health(self, _request: Any, _context: object) -> Any:
        return self.pb.Status.Detail(state="serving")


def _handler(spec: ServiceSpec, implementation: object) -> grpc.GenericRpcHandler:
    # What the gRPC server does with a spec, reduced to these two shapes.
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in spec.grpc_methods:
        function = getattr(implementation, method.handler)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            function,
            request_deserializer=method.request_type.FromString,
            response_serializer=method.response_type.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(spec.full_name, handlers)


async def test_generated_client_calls_the_service(on_path: Path) -> None:
    toolkit = typed_module(on_path)
    pb = typed_module(on_path, "myservice_pb2")
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_handler(toolkit.REPORTS_SPEC, Reports(pb)),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    pool = ChannelPool(env_prefix="T", environ={"T_CLIENT_REPORTS_TARGET": f"127.0.0.1:{port}"})
    try:
        services = toolkit.WorkerServices(pool)
        reply = await services.reports.build(pb.BuildRequest(name="q3"), rpc_timeout=5)
        assert reply.body == "report q3"
        parts = [r.body async for r in services.reports.follow(pb.BuildRequest(name="q4"))]
        assert parts == ["q4 0", "q4 1", "q4 2"]
        health = await services.reports.health(empty_pb2.Empty())
        assert health == pb.Status.Detail(state="serving")
    finally:
        await pool.close()
        await server.stop(None)
