"""Fixtures of the HTTP server tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.server.http.support import compile_protos
from tests.support.http_engines import (
    http_engine,  # noqa: F401 - autouse: registered here, every test runs on every engine
    parametrize_http_engine,
    register_marker,
)


@pytest.fixture(scope="session")
def protos(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The compiled test protos: ``protos.users``, ``protos.shapes``, ..."""
    return compile_protos(tmp_path_factory.mktemp("protos"))


def pytest_configure(config: pytest.Config) -> None:
    register_marker(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_http_engine(metafunc)
