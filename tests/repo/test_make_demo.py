"""``make demo`` hands its process to the demo runner: SIGTERM to it stops both services."""

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


def _read_until(lines: queue.Queue[str], markers: tuple[str, ...], timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while not all(marker in seen for marker in markers):
        left = deadline - time.monotonic()
        assert left > 0, f"not all of {markers} within {timeout}s; output so far:\n{seen}"
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            continue
        assert line, f"output ended before {markers}:\n{seen}"
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
    ports = dict(
        zip(
            (
                "USERS_USERS_GRPC_SERVER_PORT",
                "USERS_USERS_SERVER_PORT",
                "USERS_PROBES_SERVER_PORT",
                "NOTIFIER_NOTIFIER_GRPC_SERVER_PORT",
                "NOTIFIER_NOTIFIER_SERVER_PORT",
                "NOTIFIER_PROBES_SERVER_PORT",
                "NOTIFIER_MAIL_PORT",
            ),
            _free_ports(7),
            strict=True,
        )
    )
    environment = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
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
        _read_until(lines, ("users is running", "notifier is running"), timeout=90)
        (runner,) = _children(make.pid)
        assert (
            Path(f"/proc/{runner}/cmdline")
            .read_bytes()
            .split(b"\0")[1]
            .endswith(b"scripts/demo.py")
        )
        assert all(_listening(port) for port in ports.values())

        os.kill(runner, signal.SIGTERM)

        assert make.wait(timeout=60) == 0
        assert not any(_listening(port) for port in ports.values())
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        pump.join(timeout=10)
        make.stdout.close()
