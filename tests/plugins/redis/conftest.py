"""Real Redis servers for the redis plugin tests.

The shared server on 127.0.0.1:6379 is used read-mostly and never stopped.
Tests that need a server to die, or a Redis Cluster, get their own
``redis-server`` processes on free loopback ports (``tests.support.servers``).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

import pytest
from tests.plugins.redis.servers import create_cluster
from tests.support.servers import PrivateRedis, free_ports

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A standalone server of this test's own, which the test may stop."""
    with PrivateRedis() as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-primary Redis Cluster on free loopback ports; yields its ``ADDR``."""
    directory = tmp_path_factory.mktemp("redis-cluster")
    # Data and cluster-bus ports are all picked at runtime: the default bus
    # port (port + 10000) may be taken, or past 65535.
    ports = free_ports(6)
    with ExitStack() as stack:
        nodes: list[PrivateRedis] = []
        for port, bus in zip(ports[:3], ports[3:], strict=True):
            extra = (
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-port", str(bus),
                "--cluster-node-timeout", "5000",
            )  # fmt: skip
            nodes.append(stack.enter_context(PrivateRedis(port, *extra, directory=directory)))
        create_cluster(nodes)
        yield ",".join(node.addr for node in nodes)
