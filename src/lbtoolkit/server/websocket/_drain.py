"""The WebSocket connections one HTTP server serves, so that stopping it drains them."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lbtoolkit.server.websocket._connection import Connection

__all__ = ["Connections"]


class Connections:
    """The live connections of a server's WebSocket routes.

    :meth:`drain` is called once, when the server stops: from then on new
    connections are refused and each live one drains (see
    :meth:`Connection.drain`). The server's cut names what the drain cut
    at the deadline, or what runs still, through :meth:`cut`.
    """

    __slots__ = ("_cut", "_live", "draining")

    def __init__(self) -> None:
        self._live: set[Connection] = set()
        self._cut: Counter[str] = Counter()
        self.draining = False

    def __len__(self) -> int:
        return len(self._live)

    def add(self, connection: Connection) -> None:
        self._live.add(connection)

    def discard(self, connection: Connection) -> None:
        self._live.discard(connection)

    def cut(self) -> dict[str, int]:
        """Calls cut at the deadline or running still, by label (``WebSocket /pkg.Svc/Method``)."""
        running = Counter(label for c in self._live for label in c.running())
        return dict(self._cut + running)

    async def drain(self, deadline: float) -> None:
        """Drain every live connection; return once all are closed.

        Calls still running at ``deadline`` (loop time) are cut, and their
        connections closed shortly after. Only the first call drains; later
        ones return at once.
        """
        if self.draining:
            return
        self.draining = True
        if not self._live:
            return
        drains = [asyncio.ensure_future(c.drain(deadline)) for c in self._live]
        try:
            # Each one gives up at the deadline by itself.
            await asyncio.wait(drains)
        finally:
            # Stopping the server was cancelled: what runs is the server's to cut.
            for drain in drains:
                drain.cancel()
        for drain in drains:
            if drain.exception() is None:
                self._cut.update(drain.result())
