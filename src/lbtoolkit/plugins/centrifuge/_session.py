"""One WebSocket connection: its client, its channels and its bounded send queue.

Everything sent to a client goes through its queue, and one writer task
drains the queue into the socket. Publishing never waits for a client: when a
client reads slower than it is sent to, the socket's buffers fill, the writer
blocks, the queue grows to its bound, and the client is disconnected as slow
instead of growing the server's memory.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.websockets import WebSocketDisconnect

from lbtoolkit.plugins.centrifuge._protocol import SLOW, Disconnect

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = ["Client", "Session"]

log = logging.getLogger("lbtoolkit.plugins.centrifuge")


@dataclass(frozen=True, slots=True)
class Client:
    """A connected client as hooks see it: its id, and the user the connect hook named."""

    id: str
    user: str


class Session:
    """The server side of one connection.

    ``max_queue_bytes`` bounds the bytes queued and not yet written; a frame
    that would pass it disconnects the client, unless the queue is empty (a
    single frame larger than the bound still goes to a client that keeps up).
    """

    def __init__(self, websocket: WebSocket, client_id: str, max_queue_bytes: int) -> None:
        self.websocket = websocket
        self.id = client_id
        self.client: Client | None = None
        self.channels: set[str] = set()
        self.disconnect: Disconnect | None = None
        self._max = max_queue_bytes
        self._queue: collections.deque[tuple[str, int]] = collections.deque()
        self._queued = 0
        self._wakeup = asyncio.Event()
        self._closed = asyncio.Event()

    def send(self, frame: str, size: int) -> bool:
        """Queue ``frame``; return ``False`` if the client is gone or was too slow."""
        if self.disconnect is not None:
            return False
        if self._queued and self._queued + size > self._max:
            self.close(SLOW)
            return False
        self._queue.append((frame, size))
        self._queued += size
        self._wakeup.set()
        return True

    def close(self, disconnect: Disconnect) -> None:
        """End the session; the first reason given is the one reported."""
        if self.disconnect is not None:
            return
        self.disconnect = disconnect
        if disconnect is SLOW:
            log.warning(
                "client %s (user %r) disconnected: %d bytes waiting, bound %d",
                self.id,
                self.client.user if self.client else "",
                self._queued,
                self._max,
            )
        self._queue.clear()
        self._closed.set()
        self._wakeup.set()

    async def wait_closed(self) -> None:
        """Return once :meth:`close` was called."""
        await self._closed.wait()

    async def write_loop(self) -> None:
        """Write queued frames in order until the session closes."""
        while True:
            await self._wakeup.wait()
            if self.disconnect is not None:
                return
            if not self._queue:
                self._wakeup.clear()
                continue
            frame, size = self._queue.popleft()
            try:
                await self.websocket.send_text(frame)
            except (WebSocketDisconnect, OSError, RuntimeError):
                # The peer went away while we wrote; the reader sees it too.
                self.close(Disconnect(1006, "connection lost"))
                return
            finally:
                self._queued -= size
