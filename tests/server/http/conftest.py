"""Fixtures of the HTTP server tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.server.http.support import compile_protos


@pytest.fixture(scope="session")
def protos(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The compiled test protos: ``protos.users``, ``protos.shapes``, ..."""
    return compile_protos(tmp_path_factory.mktemp("protos"))
