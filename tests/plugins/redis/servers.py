"""Starting private ``redis-server`` processes on free loopback ports."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

SHARED_HOST = "127.0.0.1"
SHARED_PORT = 6379
START_TIMEOUT = 10.0
CLUSTER_TIMEOUT = 30.0


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now; bound together so they differ."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((SHARED_HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def closed_port() -> int:
    """A loopback port with no listener: connecting to it is refused at once."""
    return free_ports(1)[0]


@dataclass
class RedisProcess:
    """A ``redis-server`` this test session started, and its log."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def addr(self) -> str:
        return f"{SHARED_HOST}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_redis(directory: Path, port: int, *extra: str) -> RedisProcess:
    """Start ``redis-server`` on ``port`` and wait (bounded) until it answers PING."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed")
    log = directory / f"redis-{port}.log"
    args = [
        server,
        "--port", str(port),
        "--bind", SHARED_HOST,
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "no",
        "--logfile", str(log),
        *extra,
    ]  # fmt: skip
    proc = RedisProcess(port, subprocess.Popen(args), log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            break
        with closing(redis.Redis(host=SHARED_HOST, port=port, socket_timeout=1)) as client:
            try:
                if client.ping():
                    return proc
            except redis.ConnectionError:
                time.sleep(0.05)
    proc.stop()
    text = log.read_text() if log.exists() else "(no log)"
    pytest.fail(f"redis-server on port {port} did not start:\n{text}")


def create_cluster(nodes: list[RedisProcess]) -> None:
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
