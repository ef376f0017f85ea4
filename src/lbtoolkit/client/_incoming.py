"""The request being served, as calls made while serving it see it: deadline and metadata.

The gRPC server binds each call's ``grpc.aio.ServicerContext`` here when the
call starts (one context-variable write); a client call made by the handler
reads the caller's remaining time and metadata from it only then.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, Protocol

__all__ = ["IncomingCall", "bind_incoming_call", "incoming_call"]


class IncomingCall(Protocol):
    """What a client call reads of the request being served (a ``grpc.aio.ServicerContext``)."""

    def time_remaining(self) -> float | None:
        """Seconds left before the caller's deadline, ``None`` without one."""
        ...

    def invocation_metadata(self) -> Iterable[tuple[str, Any]] | None:
        """The request's metadata."""
        ...


_incoming: ContextVar[IncomingCall | None] = ContextVar("lbtoolkit_incoming_call", default=None)


def bind_incoming_call(call: IncomingCall | None) -> None:
    """Make ``call`` the request that client calls in this task are made for.

    Transports call it when a request starts; each gRPC call runs in its own
    task, so the binding ends with it.
    """
    _incoming.set(call)


def incoming_call() -> IncomingCall | None:
    """The request being served by the current task, if any."""
    return _incoming.get()
