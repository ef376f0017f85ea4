"""``make demo`` hands its process to the service: a SIGTERM to it stops the demo cleanly."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tests.repo.support import make_command


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_until(lines: queue.Queue[str], marker: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout}s; output so far:\n{seen}"
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            continue
        assert line, f"output ended before {marker!r}:\n{seen}"
        seen += line
    return seen


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


@pytest.mark.integration
def test_sigterm_to_the_process_make_demo_started_frees_its_ports() -> None:
    grpc_port, http_port, probes_port = _free_ports(3)
    environment = {
        **os.environ,
        "DEMO_GREETER_GRPC_SERVER_PORT": str(grpc_port),
        "DEMO_GREETER_SERVER_PORT": str(http_port),
        "DEMO_PROBES_SERVER_PORT": str(probes_port),
        "PYTHONUNBUFFERED": "1",
    }
    make = subprocess.Popen(
        make_command("demo"),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert make.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    pump = threading.Thread(target=_pump, args=(make.stdout, lines), daemon=True)
    pump.start()
    try:
        _read_until(lines, "demo is running", timeout=60)
        (service,) = _children(make.pid)
        assert Path(f"/proc/{service}/cmdline").read_bytes().split(b"\0")[1:3] == [
            b"-m",
            b"greeter_demo",
        ]
        assert all(_listening(port) for port in (grpc_port, http_port, probes_port))

        os.kill(service, signal.SIGTERM)

        assert make.wait(timeout=30) == 0
        assert not any(_listening(port) for port in (grpc_port, http_port, probes_port))
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        pump.join(timeout=10)
        make.stdout.close()
