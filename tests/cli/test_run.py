"""``lbtoolkit run``: the service runs, and with --reload restarts when its code changes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from typer.testing import CliRunner

from lbtoolkit.cli import app

runner = CliRunner()
# Each start appends a line to STARTS; the service runs until it is signalled.
SERVICE = """
    import os
    import lbtoolkit


    def build() -> lbtoolkit.Service:
        app = lbtoolkit.new_service("ticker", env_prefix="TICK")

        def started() -> None:
            with open(os.environ["STARTS"], "a") as starts:
                starts.write("{version}\\n")

        app.register_on_start_sync_hook(started)
        return app
"""
WAIT_SECONDS = 60.0


def wait_for_lines(path: Path, count: int) -> list[str]:
    """The file's lines once there are ``count`` of them; fails after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    lines = path.read_text().splitlines() if path.exists() else []
    message = f"{count} start(s) expected within {WAIT_SECONDS}s, saw {lines}"
    raise AssertionError(message)


def test_reload_restarts_the_service_when_a_source_file_changes(tmp_path: Path) -> None:
    module = tmp_path / "ticker_service.py"
    module.write_text(textwrap.dedent(SERVICE).replace("{version}", "first"))
    starts = tmp_path / "starts.txt"
    environ = {**os.environ, "STARTS": str(starts), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lbtoolkit.cli", "run", "ticker_service:build", "--reload"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = wait_for_lines(starts, 1)
        module.write_text(textwrap.dedent(SERVICE).replace("{version}", "second"))
        second = wait_for_lines(starts, 2)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=WAIT_SECONDS)

    assert first == ["first"]
    # The new code ran: the module was imported afresh by a new process.
    assert second == ["first", "second"]
    assert f"changed: {module}; restarting" in output


def test_run_exits_1_naming_a_bad_variable(tmp_path: Path) -> None:
    (tmp_path / "ticker_bad.py").write_text(textwrap.dedent(SERVICE).replace("{version}", "x"))
    environ = {**os.environ, "STARTS": str(tmp_path / "starts.txt"), "TICK_LOG_FORMAT": "xml"}

    done = subprocess.run(
        [sys.executable, "-m", "lbtoolkit.cli", "run", "ticker_bad:build"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=WAIT_SECONDS,
    )

    assert done.returncode == 1
    assert "TICK_LOG_FORMAT" in done.stderr
    assert not (tmp_path / "starts.txt").exists()


def test_reload_refuses_a_missing_watch_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "x:build", "--reload", "--watch", str(tmp_path / "absent")])

    assert result.exit_code == 1
    assert result.stderr == f"error: --watch {tmp_path / 'absent'}: no such directory\n"


def wait_for_text(path: Path, text: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        time.sleep(0.1)
    message = f"{text!r} not in {path} within {WAIT_SECONDS}s"
    raise AssertionError(message)


def test_reload_regenerates_when_the_proto_changes(project: Path) -> None:
    environ = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "BILLING_BILLING_GRPC_SERVER_LISTEN": "127.0.0.1",
        "BILLING_BILLING_GRPC_SERVER_PORT": "0",
        "BILLING_BILLING_SERVER_LISTEN": "127.0.0.1",
        "BILLING_BILLING_SERVER_PORT": "0",
        "BILLING_PROBES_SERVER_LISTEN": "127.0.0.1",
        "BILLING_PROBES_SERVER_PORT": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "lbtoolkit.cli", "run", "billing.main:build", "--reload"],
        cwd=project,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        # The service's start is logged once the watcher runs: a change before would be missed.
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if "service billing started" in line:
                break
        result = runner.invoke(app, ["add", "method", "Ping", "--no-generate"])
        assert result.exit_code == 0, result.output
        wait_for_text(project / "src/billing/gen/billing_toolkit.py", "async def ping(")
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=WAIT_SECONDS)
    output = "".join(seen) + output

    assert "apis/billing.proto; restarting" in output
    assert re.search(r"regenerated \d+ file\(s\) in ", output), output
