"""Server reflection is served only when switched on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import lbtoolkit
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, channel


async def list_services(app: lbtoolkit.Service) -> list[str]:
    async with channel(app) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)

        async def requests() -> AsyncIterator[Any]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for response in stub.ServerReflectionInfo(requests()):
            return sorted(s.name for s in response.list_services_response.service)
    return []


async def test_reflection_lists_the_services_when_enabled(greeter: GreeterKit) -> None:
    app = greeter.new_app({"LB_EXAMPLE_GRPC_SERVER_REFLECTION_ENABLED": "true"})
    async with open_service(app):
        assert await list_services(app) == [
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
            "lbtest.greeter.Greeter",
        ]


async def test_reflection_is_off_by_default(app: lbtoolkit.Service) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await list_services(app)
    assert raised.value.code() is grpc.StatusCode.UNIMPLEMENTED
