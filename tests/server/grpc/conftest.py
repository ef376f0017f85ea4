"""Fixtures of the gRPC server tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

import lbtoolkit
from lbtoolkit.testing import open_service
from tests.server.grpc.support import (
    GreeterKit,
    compile_protos,
    greeter_spec,
    implementation,
    load_modules,
)


@pytest.fixture(scope="session")
def greeter(tmp_path_factory: pytest.TempPathFactory) -> GreeterKit:
    out = tmp_path_factory.mktemp("greeter_protos")
    compile_protos(out)
    pb2, pb2_grpc = load_modules(out)
    return GreeterKit(pb2, pb2_grpc, greeter_spec(pb2), implementation(pb2), out)


@pytest.fixture
async def app(greeter: GreeterKit) -> AsyncIterator[lbtoolkit.Service]:
    service = greeter.new_app()
    async with open_service(service):
        yield service


@pytest.fixture
async def stub(greeter: GreeterKit, app: lbtoolkit.Service) -> AsyncIterator[Any]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.server.grpc.port}") as channel:
        yield greeter.stub(channel)
