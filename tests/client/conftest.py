"""Fixtures of the client tests: the Greeter of the server tests, as a front service."""

from __future__ import annotations

import pytest

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
