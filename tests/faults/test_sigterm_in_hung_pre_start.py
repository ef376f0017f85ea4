"""SIGTERM while a real plugin's ``pre_start`` hangs on a server that never answers."""

from __future__ import annotations

import re
import signal
import time
from typing import TYPE_CHECKING

import pytest

from tests.faults.listeners import SilentListener
from tests.faults.processes import open_service

if TYPE_CHECKING:
    from pathlib import Path

    from tests.faults.figures import Figures

pytestmark = pytest.mark.faults

EXIT_BOUND = 5.0
SIGTERM_EXIT_CODE = 143


def lines_at(stderr: str, *levels: str) -> list[str]:
    """The log lines at ``levels``, from the level on (no time stamp)."""
    found = []
    for line in stderr.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[2].split(maxsplit=1)[0] in levels:
            found.append(parts[2])
    return found


@pytest.mark.parametrize("database", ["postgres_gorm", "postgres_pg"])
def test_sigterm_cancels_the_hung_connect_and_stops_the_plugins_started_before(
    database: str, tmp_path: Path, figures: Figures
) -> None:
    with SilentListener() as silent:
        environ = {
            "LB_CACHE_ADDR": "127.0.0.1:6379",  # the shared Redis: only connected to
            "LB_DB_HOST": "127.0.0.1",
            "LB_DB_PORT": str(silent.port),
            "LB_DB_CONN_TIMEOUT": "60s",  # so the connect hangs until the signal
            "LB_LOG_LEVEL": "DEBUG",
        }
        plugins = f"redis:cache,{database}:db"
        with open_service(tmp_path, environ, plugins=plugins) as service:
            deadline = time.monotonic() + 30
            # The plugins start concurrently: wait for the cache to be up, not only the connect.
            cache_started = 'plugin "cache" pre_start: done'
            while not silent.accepted or cache_started not in service.stderr():
                assert service.process.poll() is None, service.stderr()
                assert time.monotonic() < deadline, "the plugin never connected"
                time.sleep(0.02)
            service.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = service.wait_exit(EXIT_BOUND * 4)
            took = time.monotonic() - signalled
            stderr = service.stderr()
    figures.record_all({"connections_held": silent.accepted, "exit_code": code})
    figures.record("sigterm_to_exit_s", took)
    assert code == SIGTERM_EXIT_CODE, stderr
    assert took < EXIT_BOUND
    assert lines_at(stderr, "WARNING", "ERROR", "CRITICAL") == [
        (
            "WARNING [users] lbtoolkit.lifecycle: start interrupted by SIGTERM at plugins "
            'pre_start: plugin "db" pre_start cancelled; stopping what started'
        )
    ]
    hooks = [
        re.sub(r"done in [\d.]+ ms", "done in {}", line)
        for line in lines_at(stderr, "DEBUG")
        if "lbtoolkit.lifecycle: plugin" in line
    ]
    # The two plugins are independent: their pre_start hooks run together and interleave.
    assert sorted(hooks[:3]) == [
        'DEBUG [users] lbtoolkit.lifecycle: plugin "cache" pre_start: calling',
        'DEBUG [users] lbtoolkit.lifecycle: plugin "cache" pre_start: done in {}',
        'DEBUG [users] lbtoolkit.lifecycle: plugin "db" pre_start: calling',
    ]
    assert hooks[3:] == [
        'DEBUG [users] lbtoolkit.lifecycle: plugin "cache" on_stop: calling',
        'DEBUG [users] lbtoolkit.lifecycle: plugin "cache" on_stop: done in {}',
    ]
    assert "Traceback" not in stderr
