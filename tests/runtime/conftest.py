"""Fixtures of the runtime tests."""

from __future__ import annotations

import pytest

from tests.runtime.support import ServiceFactory, service_factory


@pytest.fixture
def make_service() -> ServiceFactory:
    return service_factory()
