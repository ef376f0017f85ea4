"""Fixtures of the Sentry tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sentry_sdk
from tests.plugins.sentry.sentry_support import Ingest, open_ingest


@pytest.fixture
def ingest() -> Iterator[Ingest]:
    with open_ingest() as server:
        yield server


@pytest.fixture(autouse=True)
def no_sentry_client_left() -> Iterator[None]:
    """The SDK is process-wide: no test leaves a client behind for the next one."""
    yield
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=1)
        sentry_sdk.get_global_scope().set_client(None)
