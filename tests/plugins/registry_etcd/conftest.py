"""Fixtures of the etcd registry tests: a private etcd each, the test Greeter, a watcher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from tests.server.grpc.support import (
    GreeterKit,
    compile_protos,
    greeter_spec,
    implementation,
    load_modules,
)
from tests.support.etcd import PrivateEtcd

from lbtoolkit.plugins import registry_etcd
from lbtoolkit.testing import open_plugin


@pytest.fixture
def etcd() -> Iterator[PrivateEtcd]:
    """An etcd of this test's own: tests kill and restart it."""
    with PrivateEtcd() as server:
        yield server


@pytest.fixture(scope="session")
def greeter(tmp_path_factory: pytest.TempPathFactory) -> GreeterKit:
    out = tmp_path_factory.mktemp("registry_greeter_protos")
    compile_protos(out)
    pb2, pb2_grpc = load_modules(out)
    return GreeterKit(pb2, pb2_grpc, greeter_spec(pb2), implementation(pb2), out)


@pytest.fixture
async def watcher(etcd: PrivateEtcd) -> AsyncIterator[registry_etcd.Plugin]:
    """A registry plugin with no server of its own: a client that only follows others."""
    plugin = registry_etcd.new_test_plugin(
        environ={"REGISTRY_ENDPOINTS": etcd.endpoint, "REGISTRY_DIAL_TIMEOUT": "2s"}
    )
    async with open_plugin(plugin):
        yield plugin
