"""Library loggers keep to warnings unless the service logs at DEBUG."""

from __future__ import annotations

import io
import logging
import socket
from typing import TYPE_CHECKING

import pytest

from lbtoolkit.runtime._logging import LIBRARY_LOGGERS, configure_logging
from tests.runtime.processes import run_app

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

POOL_DISPOSED = "sqlalchemy.pool.impl.IdleExpiringPool: Pool disposed."
START_FAILED = "ERROR [gormsvc] lbtoolkit.lifecycle: start failed at plugins pre_start"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put back the root logger and the library loggers as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in levels.items():
        logging.getLogger(name).setLevel(library_level)


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(
    ("service", "library"),
    [("DEBUG", logging.DEBUG), ("INFO", logging.WARNING), ("ERROR", logging.ERROR)],
)
def test_library_loggers_follow_the_service_level_only_at_debug(service: str, library: int) -> None:
    configure_logging("svc", service, "text", io.StringIO())
    assert {logging.getLogger(name).level for name in LIBRARY_LOGGERS} == {library}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def failed_start_log(tmp_path: Path, level: str) -> str:
    env = {
        "GS_LOG_LEVEL": level,
        "GS_PGSQL_HOST": "127.0.0.1",
        "GS_PGSQL_PORT": str(closed_port()),
        "GS_PGSQL_CONN_ATTEMPTS": "1",
    }
    proc = run_app("gorm_service", tmp_path, env=env)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    return err


def test_failed_start_logs_no_sqlalchemy_pool_line_at_info(tmp_path: Path) -> None:
    err = failed_start_log(tmp_path, "INFO")
    assert "sqlalchemy" not in err
    assert "Pool disposed" not in err
    assert len([line for line in err.splitlines() if START_FAILED in line]) == 1
    assert 'gormsvc: start failed at plugins pre_start: plugin "pgsql" pre_start' in err


@pytest.mark.parametrize("level", ["debug", "DEBUG"])
def test_failed_start_logs_the_sqlalchemy_pool_at_debug(tmp_path: Path, level: str) -> None:
    err = failed_start_log(tmp_path, level)
    assert f"INFO  [gormsvc] {POOL_DISPOSED}" in err
    assert START_FAILED in err
