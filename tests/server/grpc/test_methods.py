"""The method table routes every call by its full path, with generated code's help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import lbtoolkit
from lbtoolkit.server.grpc._health import HealthService
from lbtoolkit.server.grpc._methods import MethodTable
from tests.server.grpc.support import channel


@dataclass(frozen=True)
class _Details(grpc.HandlerCallDetails):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


def _handler(answer: bytes) -> grpc.RpcMethodHandler[bytes, bytes]:
    async def behavior(request: bytes, context: Any) -> bytes:
        return answer

    return grpc.unary_unary_rpc_method_handler(behavior)


def test_methods_are_found_by_full_path_across_services() -> None:
    first, second = _handler(b"1"), _handler(b"2")
    table = MethodTable()
    table.add("pkg.One", {"Get": first})
    table.add("pkg.Two", {"Get": second})
    assert table.service(_Details("/pkg.One/Get")) is first
    assert table.service(_Details("/pkg.Two/Get")) is second
    assert "/pkg.Two/Get" in table
    assert table.service(_Details("/pkg.One/Missing")) is None
    assert table.service(_Details("/pkg.Three/Get")) is None


def test_generated_servicer_registration_lands_in_the_table() -> None:
    table = MethodTable()
    health_pb2_grpc.add_HealthServicer_to_server(HealthService(["pkg.One"]), table)
    assert "/grpc.health.v1.Health/Check" in table
    assert "/grpc.health.v1.Health/Watch" in table


def test_generic_handlers_of_older_generated_code_answer_what_the_table_lacks() -> None:
    legacy = _handler(b"legacy")
    table = MethodTable()
    table.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("pkg.Old", {"Get": legacy}),)
    )
    table.add("pkg.New", {"Get": _handler(b"new")})
    assert table.service(_Details("/pkg.Old/Get")) is legacy
    assert table.service(_Details("/pkg.Old/Other")) is None


async def test_a_served_method_health_and_an_unknown_path_over_the_wire(
    app: lbtoolkit.Service,
) -> None:
    async with channel(app) as ch:
        check = ch.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        answer = await check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        unknown: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = ch.unary_unary("/no.Such/Method")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unknown(b"", timeout=5)
        assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
