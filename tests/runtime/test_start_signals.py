"""SIGTERM and SIGINT during start: the running hook is cancelled and what started stops."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest

from tests.runtime.processes import events, run_app, wait_for

if TYPE_CHECKING:
    from pathlib import Path

APP = "starting_service"


def interrupt(tmp_path: Path, mode: str, marker: str, signum: signal.Signals) -> tuple[int, str]:
    """Start the app, send ``signum`` once ``marker`` is recorded; return exit code and stderr."""
    proc = run_app(APP, tmp_path, mode=mode)
    try:
        wait_for(tmp_path, marker)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    return proc.returncode, err


def warnings_and_errors(stderr: str) -> list[str]:
    """The log lines above INFO, without their time stamp."""
    return [
        line.split(" ", 2)[2]
        for line in stderr.splitlines()
        if " WARNING " in line or " ERROR " in line
    ]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_during_pre_start_cancels_the_hook_and_rolls_back(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    returncode, err = interrupt(tmp_path, "hang_pre_start", "hang.pre_start.begin", signum)
    assert returncode == code, err
    assert events(tmp_path) == [
        "first.pre_start",
        "hang.pre_start.begin",
        "hang.pre_start.cancelled",
        "first.on_stop",
    ]
    assert warnings_and_errors(err) == [
        (
            f"WARNING [starter] lbtoolkit.lifecycle: start interrupted by {signum.name} at "
            'plugins pre_start: plugin "hang" pre_start cancelled; stopping what started'
        )
    ]
    assert "Traceback" not in err


def test_start_that_completes_after_sigterm_never_turns_ready(tmp_path: Path) -> None:
    returncode, err = interrupt(tmp_path, "finishing", "finishing.begin", signal.SIGTERM)
    assert returncode == 143, err
    assert events(tmp_path) == [
        "first.pre_start",
        "finishing.begin",
        "finishing.cancelled",
        "user.on_stop_sync",
        "hang.on_stop",
        "first.on_stop",
    ]
    assert not any(event.startswith("ready=") for event in events(tmp_path))
    assert warnings_and_errors(err) == [
        (
            "WARNING [starter] lbtoolkit.lifecycle: start interrupted by SIGTERM at user start "
            "hooks: user hook __main__.finishing on_start_sync cancelled; stopping what started"
        )
    ]
