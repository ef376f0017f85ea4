"""A loopback TCP listener that accepts connections and never answers."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType
from typing import Self

__all__ = ["SilentListener"]


class SilentListener:
    """Accept every connection on 127.0.0.1 and say nothing; a client's handshake hangs.

    ``accepted`` counts the connections taken; all are closed at exit.
    """

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.setblocking(False)  # noqa: FBT003 - the standard library's own signature
        self.port: int = self._socket.getsockname()[1]
        self.accepted = 0
        self._connections: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-listener", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join(5)
        for connection in self._connections:
            connection.close()
        self._socket.close()

    def _accept(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._socket, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if selector.select(0.05):
                    with contextlib.suppress(BlockingIOError):
                        connection, _ = self._socket.accept()
                        self._connections.append(connection)
                        self.accepted += 1
