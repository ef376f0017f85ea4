"""Drain without loss: the server counts the calls it accepted and waits for each one.

grpc.aio's ``server.stop(grace)`` is not enough: grpc core fails every call
it has received but not yet handed to the application (under load, most of
a burst) with ``CANCELLED``, the moment shutdown begins. So the toolkit drains
before grpc shuts down: new calls are answered ``UNAVAILABLE`` (a status
clients retry, and one that says the call never ran) by swapping the
handlers in the :class:`~lbtoolkit.server.grpc._methods.MethodTable`, the
calls already running are counted down to zero by a :class:`CallTracker`,
and only then is grpc's server stopped, with nothing left to cancel.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
import grpc.aio

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["REFUSAL", "CallTracker", "refusing_handler"]

REFUSAL = "the server is shutting down; retry on another instance"

# How long the stream of refused calls must stay quiet before grpc's server is
# stopped: a call grpc core holds when it stops is cancelled, not refused.
_QUIET = 0.05
# A client that keeps sending after UNAVAILABLE holds the stop no longer than this.
_QUIET_LIMIT = 1.0


class CallTracker:
    """The calls of one server's methods now running, and what draining needs.

    Handlers add one to ``running`` when a call begins and take it away when
    it ends, then set ``idle`` if the server is draining and none is left:
    no lock (one event loop) and no task per call.
    """

    __slots__ = ("draining", "idle", "refused", "running")

    def __init__(self) -> None:
        self.running = 0
        self.refused = 0
        self.draining = False
        self.idle = asyncio.Event()

    async def wait_drained(self, deadline: float) -> bool:
        """Wait until no call runs and none arrives; ``False`` if ``deadline`` (loop time) came."""
        self.draining = True
        loop = asyncio.get_running_loop()
        quiet_deadline: float | None = None
        while True:
            if self.running:
                self.idle.clear()
                try:
                    async with asyncio.timeout_at(deadline):
                        await self.idle.wait()
                except TimeoutError:
                    return False
            if quiet_deadline is None:
                quiet_deadline = min(loop.time() + _QUIET_LIMIT, deadline)
            refused = self.refused
            # Calls grpc routed just before the swap may still be on their way in.
            await asyncio.sleep(min(_QUIET, max(quiet_deadline - loop.time(), 0.0)))
            if not self.running and (self.refused == refused or loop.time() >= quiet_deadline):
                return True
            if loop.time() >= deadline:
                return not self.running


def refusing_handler(
    handler: grpc.RpcMethodHandler[Any, Any], tracker: CallTracker
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of ``handler``'s shape answering every call ``UNAVAILABLE``."""

    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
        del request
        tracker.refused += 1
        await context.abort(grpc.StatusCode.UNAVAILABLE, REFUSAL)

    async def refuse_stream(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        await refuse(request, context)
        yield  # pragma: no cover - never reached: makes this an async generator

    if handler.response_streaming:
        if handler.request_streaming:
            return grpc.stream_stream_rpc_method_handler(refuse_stream)
        return grpc.unary_stream_rpc_method_handler(refuse_stream)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)
