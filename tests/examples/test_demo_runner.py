"""scripts/demo.py: both services start, answer, and stop cleanly on SIGTERM with exit 0."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from typing import IO

import httpx
import pytest

from tests.examples.examples_support import ROOT, unique
from tests.support.servers import free_ports


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")


def _read_until(lines: queue.Queue[str], markers: list[str], timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while not all(marker in seen for marker in markers):
        left = deadline - time.monotonic()
        assert left > 0, f"not all of {markers} within {timeout}s; output:\n{seen}"
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            continue
        assert line, f"output ended early:\n{seen}"
        seen += line
    return seen


@pytest.mark.integration
def test_demo_runs_both_services_and_stops_on_sigterm() -> None:
    ports = free_ports(7)
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [
                str(ROOT / "examples" / "users"),
                str(ROOT / "examples" / "notifier"),
                str(ROOT / "src"),
            ]
        ),
        "USERS_USERS_GRPC_SERVER_PORT": str(ports[0]),
        "USERS_USERS_SERVER_PORT": str(ports[1]),
        "USERS_PROBES_SERVER_PORT": str(ports[2]),
        "NOTIFIER_NOTIFIER_GRPC_SERVER_PORT": str(ports[3]),
        "NOTIFIER_NOTIFIER_SERVER_PORT": str(ports[4]),
        "NOTIFIER_PROBES_SERVER_PORT": str(ports[5]),
        "NOTIFIER_MAIL_PORT": str(ports[6]),
    }
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert demo.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    pump = threading.Thread(target=_pump, args=(demo.stdout, lines), daemon=True)
    pump.start()
    try:
        started = _read_until(
            lines, ["service users started in", "service notifier started in"], timeout=60
        )
        base = f"http://127.0.0.1:{ports[1]}"
        email = f"{unique('demo')}@example.com"
        with httpx.Client(base_url=base, timeout=5) as client:
            created = client.post("/v1/users", json={"email": email, "name": "Demo"}).json()
            got = client.get(f"/v1/users/{created['id']}").json()
            client.delete(f"/v1/users/{created['id']}")
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=60)
        pump.join(timeout=10)
        rest = ""
        while not lines.empty():
            rest += lines.get()
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        demo.stdout.close()

    assert got["email"] == email
    assert code == 0
    output = started + rest
    assert "   users | users is running" in output
    assert "notifier | notifier is running" in output
    assert f"http://127.0.0.1:{ports[1]}/docs" in output
    # The realtime node shares the users HTTP port.
    assert f"users_service.watch ws://127.0.0.1:{ports[1]}/connection/websocket" in output
    assert "    demo | users exited with 0" in output
    assert "    demo | notifier exited with 0" in output
    # Start-up in one line per service: each plugin with the time its start took.
    for service, plugins in (
        ("users", ("db", "cache", "events", "realtime", "sentry", "metrics")),
        ("notifier", ("events", "mail", "sentry", "metrics")),
    ):
        summary = re.search(
            rf"^ *{service} \| \d\d:\d\d:\d\d INFO +lbtoolkit\.lifecycle: "
            rf"service {service} started in [\d.]+ ms: (.+)$",
            output,
            re.MULTILINE,
        )
        assert summary is not None, output
        took = dict(part.rsplit(" ", 2)[0:2] for part in summary[1].split(", "))
        for plugin in plugins:
            assert re.fullmatch(r"\d+\.\d", took.get(plugin, "")), (plugin, summary[0])
