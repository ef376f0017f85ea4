"""The time a client may take to send a request body, kept by one sweeper per server.

A timer per read (``asyncio.timeout``, ``loop.call_at``) costs a heap push and
a cancelled entry per request, and the loop's heap fills with cancelled timers
that are only swept out in bulk: about 5 µs of a 19 µs request in process.
Here a read records its task and deadline in a dict, and one task wakes an
eighth of the timeout at a time, cancelling the late ones. An expiry is
noticed up to an eighth of the timeout late. The sweeper stays while reads
come: it leaves once a whole interval went by without one, not as soon as no
read is pending, since most bodies are in already when read, and a sweeper
started per request costs a task per request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Message, Receive

__all__ = ["BodyDeadlines"]

_EXPIRED = "request body not received in time"
_SWEEPS_PER_TIMEOUT = 8
_SHORTEST_SWEEP = 0.01  # seconds


class BodyDeadlines:
    """The request-body reads in progress on one server and when each must end."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._interval = max(timeout / _SWEEPS_PER_TIMEOUT, _SHORTEST_SWEEP)
        self._reads: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # Whether a read started since the sweeper last woke.
        self._recent = False

    async def read(self, receive: Receive, deadline: float) -> Message:
        """``await receive()``, cancelled once ``deadline`` (loop time) has passed.

        Raises ``TimeoutError`` when the deadline cut the read short.
        """
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - awaited inside a request's task
        self._reads[task] = deadline
        self._recent = True
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="http body deadlines")
        try:
            return await receive()
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            raise TimeoutError(_EXPIRED) from None
        finally:
            del self._reads[task]

    def close(self) -> None:
        """Stop sweeping (the server stopped); reads still pending are no longer bounded."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._reads or self._recent:
                self._recent = False
                await asyncio.sleep(self._interval)
                now = loop.time()
                for task, deadline in list(self._reads.items()):
                    if deadline <= now and task not in self._expired:
                        self._expired.add(task)
                        task.cancel(_EXPIRED)
        finally:
            if self._sweeper is asyncio.current_task():
                self._sweeper = None
