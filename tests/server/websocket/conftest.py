"""Fixtures of the WebSocket and proxy tests."""

from __future__ import annotations

import pytest

from tests.server.websocket.support import Generated, generate
from tests.support.http_engines import (
    http_engine,  # noqa: F401 - autouse: registered here, every test runs on every engine
    parametrize_http_engine,
    register_marker,
)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The test protos, generated once and importable."""
    with pytest.MonkeyPatch.context() as patch:
        return generate(tmp_path_factory.mktemp("wsgw"), patch)


def pytest_configure(config: pytest.Config) -> None:
    register_marker(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_http_engine(metafunc)
