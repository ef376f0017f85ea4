"""Running the services of ``apps/`` as real processes, and reading what they recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

APPS = Path(__file__).parent / "apps"


def run_app(
    app: str,
    tmp_path: Path,
    *args: str,
    mode: str = "ok",
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start ``apps/<app>.py``; it appends its events to ``tmp_path / "events"``."""
    environ = {
        "PATH": os.environ["PATH"],
        "RECORD_FILE": str(tmp_path / "events"),
        "MODE": mode,
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, str(APPS / f"{app}.py"), *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def events(tmp_path: Path) -> list[str]:
    path = tmp_path / "events"
    return path.read_text().splitlines() if path.exists() else []


def wait_for(tmp_path: Path, event: str, timeout: float = 10) -> None:
    """Poll the events file until ``event`` is in it."""
    deadline = time.monotonic() + timeout
    while event not in events(tmp_path):
        assert time.monotonic() < deadline, f"{event!r} not seen; events: {events(tmp_path)}"
        time.sleep(0.02)


def sigterm_once_started(proc: subprocess.Popen[str], tmp_path: Path) -> str:
    """Send SIGTERM once the app recorded ``started``; wait for its exit; its stderr."""
    try:
        wait_for(tmp_path, "started")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    return err
