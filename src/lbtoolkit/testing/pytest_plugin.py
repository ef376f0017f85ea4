"""pytest fixtures: ``pytest_plugins = ["lbtoolkit.testing.pytest_plugin"]``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio

from lbtoolkit.runtime import Service, State

__all__ = ["start_service"]


@pytest_asyncio.fixture
async def start_service() -> AsyncIterator[Callable[[Service], Awaitable[Service]]]:
    """Start services in-process; every one still running is stopped at teardown."""
    started: list[Service] = []

    async def start(service: Service) -> Service:
        await service.start()
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        if service.runtime.lifecycle.state is State.STARTED:
            await service.stop()
