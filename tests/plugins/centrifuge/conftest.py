"""Fixtures of the centrifuge plugin tests: private Redis servers that may be stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.plugins.redis.servers import RedisProcess, closed_port, start_redis

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A standalone ``redis-server`` of this test's own, on a free loopback port."""
    proc = start_redis(tmp_path, closed_port())
    try:
        yield proc
    finally:
        proc.stop()
