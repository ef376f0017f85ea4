"""The shared Redis server's address, and Redis Cluster set-up on private servers.

Private servers themselves come from ``tests.support.servers``; ``RedisProcess``,
``start_redis``, ``closed_port`` and ``free_ports`` remain here for the tests
that import them from this module.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from contextlib import closing
from typing import TYPE_CHECKING

import pytest
import redis
from tests.support.servers import PrivateRedis, free_ports
from tests.support.servers import free_port as closed_port

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "SHARED_HOST",
    "SHARED_PORT",
    "RedisProcess",
    "closed_port",
    "cluster_ok",
    "create_cluster",
    "free_ports",
    "start_redis",
]

SHARED_HOST = "127.0.0.1"
SHARED_PORT = 6379
CLUSTER_TIMEOUT = 30.0

RedisProcess = PrivateRedis


def start_redis(directory: Path, port: int, *extra: str) -> PrivateRedis:
    """A started ``redis-server`` on ``port`` with its files in ``directory``."""
    server = PrivateRedis(port, *extra, directory=directory)
    server.start()
    return server


def create_cluster(nodes: list[PrivateRedis]) -> None:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.fail("redis-cli is not installed")
    args = [cli, "--cluster", "create", *(n.addr for n in nodes)]
    args += ["--cluster-replicas", "0", "--cluster-yes"]
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=CLUSTER_TIMEOUT, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"redis-cli --cluster create failed:\n{result.stdout}\n{result.stderr}")
    deadline = time.monotonic() + CLUSTER_TIMEOUT
    while time.monotonic() < deadline:
        if all(cluster_ok(node.port) for node in nodes):
            return
        time.sleep(0.1)
    pytest.fail("the Redis Cluster did not reach cluster_state:ok")


def cluster_ok(port: int) -> bool:
    with closing(redis.Redis(host=SHARED_HOST, port=port, socket_timeout=1)) as client:
        info = client.cluster("INFO")
    return isinstance(info, dict) and info.get("cluster_state") == "ok"
