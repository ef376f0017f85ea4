"""The sessions of one node and who subscribed to what: local delivery."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lbtoolkit.plugins.centrifuge._protocol import push_frame

if TYPE_CHECKING:
    from lbtoolkit.plugins.centrifuge._protocol import Disconnect
    from lbtoolkit.plugins.centrifuge._session import Session

__all__ = ["Hub"]

log = logging.getLogger("lbtoolkit.plugins.centrifuge")


class Hub:
    """Sessions by channel. Delivery is synchronous: it only queues frames."""

    def __init__(self) -> None:
        self._sessions: set[Session] = set()
        self._channels: dict[str, set[Session]] = {}

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def subscriber_count(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    def add(self, session: Session) -> None:
        self._sessions.add(session)

    def remove(self, session: Session) -> None:
        """Forget ``session`` and all its subscriptions."""
        self._sessions.discard(session)
        for channel in list(session.channels):
            self.unsubscribe(session, channel)

    def subscribe(self, session: Session, channel: str) -> None:
        session.channels.add(channel)
        self._channels.setdefault(channel, set()).add(session)

    def unsubscribe(self, session: Session, channel: str) -> None:
        session.channels.discard(channel)
        subscribers = self._channels.get(channel)
        if subscribers is not None:
            subscribers.discard(session)
            if not subscribers:
                del self._channels[channel]

    def deliver(self, channel: str, data: bytes) -> int:
        """Queue a publication for every local subscriber; return how many took it."""
        subscribers = self._channels.get(channel)
        if not subscribers:
            return 0
        try:
            frame, size = push_frame(channel, data)
        except UnicodeDecodeError:
            log.warning("dropped a publication to %r: its data is not UTF-8 JSON", channel)
            return 0
        delivered = 0
        # A slow subscriber is closed while we iterate: iterate over a copy.
        for session in list(subscribers):
            if session.send(frame, size):
                delivered += 1
            elif session.disconnect is not None:
                self.remove(session)
        return delivered

    def close_all(self, disconnect: Disconnect) -> None:
        """Close every session (each one's handler then says goodbye and leaves)."""
        for session in list(self._sessions):
            session.close(disconnect)
