"""Fixtures of the WebSocket and proxy tests."""

from __future__ import annotations

import pytest

from tests.server.websocket.support import Generated, generate


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The test protos, generated once and importable."""
    with pytest.MonkeyPatch.context() as patch:
        return generate(tmp_path_factory.mktemp("wsgw"), patch)
