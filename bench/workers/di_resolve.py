"""Per-request cost of a request-scoped dependency: resolved through DI or built by hand.

Usage: ``python -m bench.workers.di_resolve``; prints ``{"di_us": ..., "hand_us": ...}``,
microseconds per request, each the best of several alternating blocks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

import lbtoolkit
from bench.workers.timing import emit
from lbtoolkit import Scope
from lbtoolkit.config import env

CALLS = 20_000
BLOCKS = 5


class Settings(BaseModel):
    prefix: str = env("REPLY_PREFIX", default="", comment="Put before every reply")


class RequestState:
    """The dependency: one per request, built from an app-scoped config."""

    def __init__(self, config: Settings) -> None:
        self.prefix = config.prefix


async def _per_call(handler: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        await handler()
    return (time.perf_counter() - started) / CALLS * 1e6


async def main() -> None:
    app = lbtoolkit.new_service("di-bench", environ={}, argv=[])
    app.register_config(Settings)
    app.provide(RequestState, scope=Scope.REQUEST)
    await app.start()
    try:
        injector = app.runtime.injector
        config = await injector.get(Settings)

        async def through_di() -> object:
            # What a transport does for a call that asks for a request-scoped
            # dependency: enter the request scope, resolve, close (finalizers).
            async with injector.request_scope() as request:
                return await request.get(RequestState)

        async def by_hand() -> object:
            return RequestState(config)

        di, hand = [], []
        for _ in range(BLOCKS):
            di.append(await _per_call(through_di))
            hand.append(await _per_call(by_hand))
    finally:
        await app.stop()
    emit({"di_us": min(di), "hand_us": min(hand)})


if __name__ == "__main__":
    asyncio.run(main())
