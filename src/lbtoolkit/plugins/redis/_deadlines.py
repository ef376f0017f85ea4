"""Read and write timeouts kept by a watchdog instead of a timer per operation.

With ``socket_timeout`` set, redis-py wraps every read in ``asyncio.timeout``
and every write in ``asyncio.wait_for`` (a task per write). On a GET against a
local server that is about a quarter of the command's time. A
:class:`DeadlineConnection` runs with no socket timeout and only notes, before
each write and read, when that operation must be over; a :class:`Watchdog`
looks at the pool's busy connections a few times per timeout and cancels an
operation past its deadline, which then ends with redis-py's ``TimeoutError``,
as a socket timeout would have ended it (and the connection is dropped).

Each timeout is kept separately (``WRITE_TIMEOUT`` for writes, ``READ_TIMEOUT``
for reads); an operation ends at most an eighth of the shortest timeout after
its deadline.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio.connection import Connection
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["DeadlineConnection", "Watchdog"]

# How often, per shortest timeout, the watchdog looks; and its bounds in seconds.
_CHECKS_PER_TIMEOUT = 8
_SHORTEST_TICK, _LONGEST_TICK = 0.01, 1.0


class DeadlineConnection(Connection):
    """A redis-py connection whose writes and reads end at a deadline the watchdog keeps.

    ``read_timeout`` and ``write_timeout`` are in seconds, ``None`` for none.
    A read given its own timeout by redis-py (pub/sub waits, for one) keeps
    redis-py's handling.
    """

    def __init__(
        self, *, read_timeout: float | None, write_timeout: float | None, **kwargs: Any
    ) -> None:
        super().__init__(**{**kwargs, "socket_timeout": None})
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        # When the running write or read must be over (time.monotonic), else None.
        self.deadline: float | None = None
        self._task: asyncio.Task[Any] | None = None
        self._expired = False

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if self.write_timeout is None:
            await super().send_packed_command(command, check_health)
            return
        self._arm(self.write_timeout)
        try:
            await super().send_packed_command(command, check_health)
        except asyncio.CancelledError:
            self._raise_if_expired("Timeout writing to socket")
            raise
        finally:
            self.deadline = None

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 - redis-py's per-read timeout
        **kwargs: Any,
    ) -> Any:
        if timeout is not None or self.read_timeout is None:
            return await super().read_response(disable_decoding, timeout, **kwargs)
        self._arm(self.read_timeout)
        try:
            return await super().read_response(disable_decoding, None, **kwargs)
        except asyncio.CancelledError:
            self._raise_if_expired(f"Timeout reading from {self._host_error()}")
            raise
        finally:
            self.deadline = None

    def expire(self) -> None:
        """End the running write or read (the watchdog found it past its deadline)."""
        task = self._task
        self.deadline = None
        if task is not None and not task.done():
            self._expired = True
            task.cancel()

    def _arm(self, seconds: float) -> None:
        self._expired = False
        self._task = asyncio.current_task()
        self.deadline = time.monotonic() + seconds

    def _raise_if_expired(self, message: str) -> None:
        if not self._expired:
            return
        self._expired = False
        task = asyncio.current_task()
        # Cancelled by someone else as well: that cancellation goes on.
        if task is not None and task.uncancel() == 0:
            raise RedisTimeoutError(message) from None


class Watchdog:
    """Expires the busy connections of one pool past their deadline, checking every ``tick``."""

    def __init__(
        self, busy: Callable[[], Iterable[object]], timeouts: Iterable[float | None]
    ) -> None:
        shortest = min((t for t in timeouts if t), default=None)
        self.tick = (
            None
            if shortest is None
            else min(max(shortest / _CHECKS_PER_TIMEOUT, _SHORTEST_TICK), _LONGEST_TICK)
        )
        self._busy = busy
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching (on the running loop), unless watching or nothing to watch."""
        if self.tick is not None and self._task is None:
            # The task holds the watchdog weakly, so a pool dropped unclosed ends it.
            self._task = asyncio.get_running_loop().create_task(
                _watch(weakref.ref(self), self.tick), name="redis connection watchdog"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def check(self) -> None:
        now = time.monotonic()
        for connection in list(self._busy()):
            if isinstance(connection, DeadlineConnection):
                deadline = connection.deadline
                if deadline is not None and now >= deadline:
                    connection.expire()


async def _watch(watchdog: weakref.ref[Watchdog], tick: float) -> None:
    while True:
        await asyncio.sleep(tick)
        current = watchdog()
        if current is None:
            return
        current.check()
        del current
