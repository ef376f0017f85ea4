"""One WebSocket connection: the call made on connect, then proxied frames.

Three kinds of tasks share a connection: the reader (client frames), the
calls it starts (the connect call, proxied methods), and the writer, the only
one that sends. Calls hand their frames to the writer through a bounded
queue: a client that does not read its frames fills it and is disconnected,
so a slow reader costs a fixed amount of memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from lbtoolkit.errors import StatusError
from lbtoolkit.server._context import RequestContext, RequestScope, close_request_scope
from lbtoolkit.server.http._errors import InvalidValue, TranscodeError
from lbtoolkit.server.websocket._frames import (
    FrameError,
    FrameId,
    error_frame,
    parse_request,
    reply_frame,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping

    from dishka import AsyncContainer
    from google.protobuf.message import Message
    from starlette.websockets import WebSocket

    from lbtoolkit.server._proxy import ProxyCall
    from lbtoolkit.server._validation import RequestCheck
    from lbtoolkit.server.http._codec import MessageCodec
    from lbtoolkit.spec import MethodSpec

__all__ = ["ConnectTarget", "Connection", "Limits", "ProxyTarget"]

# Close codes (RFC 6455 section 7.4.1).
_POLICY = 1008
_SERVER_ERROR = 1011
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
_INTERNAL = "internal error"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection bounds: frames waiting to be sent, proxied calls running."""

    send_queue: int = 256
    calls: int = 64


@dataclass(frozen=True, slots=True)
class ConnectTarget:
    """The ``websocket`` method a path reaches and how to build its request."""

    method: MethodSpec
    handler: Callable[[Any, RequestContext], Any]
    build: Callable[[bytes, Mapping[str, str], bytes], Message]
    reply: MessageCodec
    check: RequestCheck | None = None  # validation of the connect request, when on


@dataclass(frozen=True, slots=True)
class ProxyTarget:
    """A ``websocket_proxy`` method a frame may name."""

    method: MethodSpec
    call: ProxyCall
    request: MessageCodec
    reply: MessageCodec


@dataclass(frozen=True, slots=True)
class _Close:
    code: int


class Connection:
    """Serves one accepted WebSocket until either side closes it."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        connect: ConnectTarget,
        proxies: Mapping[str, ProxyTarget],
        headers: Mapping[str, str],
        peer: str | None,
        container: AsyncContainer,
        limits: Limits,
        log: logging.Logger,
    ) -> None:
        self._ws = websocket
        self._connect = connect
        self._proxies = proxies
        self._headers = headers
        self._peer = peer
        self._container = container
        self._log = log
        self._queue: asyncio.Queue[str | _Close] = asyncio.Queue(limits.send_queue)
        self._slots = asyncio.Semaphore(limits.calls)
        self._calls: set[asyncio.Task[None]] = set()
        self._overflow = asyncio.Event()
        self._closing = False

    async def serve(self, path_params: Mapping[str, str], query: bytes) -> None:
        """Accept, make the connect call, answer frames; return once the connection ended."""
        await self._ws.accept()
        writer = asyncio.create_task(self._write())
        reader = asyncio.create_task(self._read())
        overflow = asyncio.create_task(self._overflow.wait())
        self._start(self._call_connected(path_params, query))
        try:
            await asyncio.wait({writer, reader, overflow}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            tasks = [reader, overflow, *self._calls]
            if self._overflow.is_set() or reader.done():
                tasks.append(writer)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._overflow.is_set():
                await self._close(_POLICY)
            elif not writer.done():
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)

    # --- sending ------------------------------------------------------------------

    def _send(self, frame: str | _Close) -> None:
        if self._closing:
            return
        if isinstance(frame, _Close):
            self._closing = True
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self._closing = True
            self._log.warning(
                "WebSocket %s: the client reads too slowly (%d frames waiting); closing",
                self._connect.method.grpc_path,
                self._queue.qsize(),
            )
            self._overflow.set()

    async def _write(self) -> None:
        while True:
            frame = await self._queue.get()
            if isinstance(frame, _Close):
                await self._close(frame.code)
                return
            try:
                await self._ws.send_text(frame)
            except Exception:  # noqa: BLE001 - the client is gone: nothing left to write to
                return

    async def _close(self, code: int) -> None:
        # A peer that stopped reading may never acknowledge: do not wait on it forever.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._ws.close(code)

    # --- receiving ----------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                try:
                    text = (message.get("bytes") or b"").decode()
                except UnicodeDecodeError:
                    self._send(error_frame(None, grpc.StatusCode.INVALID_ARGUMENT, "not UTF-8"))
                    continue
            await self._dispatch(text)

    async def _dispatch(self, text: str) -> None:
        try:
            request = parse_request(text)
        except FrameError as error:
            self._send(error_frame(error.frame_id, grpc.StatusCode.INVALID_ARGUMENT, str(error)))
            return
        target = self._proxies.get(request.method)
        if target is None:
            message = f"unknown method {request.method!r}"
            self._send(error_frame(request.frame_id, grpc.StatusCode.UNIMPLEMENTED, message))
            return
        # Waiting here stops reading: a client sending faster than calls end is slowed down.
        await self._slots.acquire()
        self._start(self._call_proxy(request.frame_id, target, request.payload), slot=True)

    def _start(self, call: Coroutine[Any, Any, None], *, slot: bool = False) -> None:
        task = asyncio.create_task(call)
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        if slot:
            task.add_done_callback(lambda _: self._slots.release())

    # --- calls --------------------------------------------------------------------

    async def _call_proxy(self, frame_id: FrameId, target: ProxyTarget, payload: Any) -> None:
        try:
            try:
                request = target.request.load(payload)
            except InvalidValue as error:
                raise TranscodeError.of("payload", error) from None
            reply = await target.call(request, self._headers)
            self._send(reply_frame(frame_id, target.reply.dump(reply)))
        except Exception as error:  # noqa: BLE001 - every failure becomes an error frame
            code, message = self._status_of(error, target.method.grpc_path)
            self._send(error_frame(frame_id, code, message))

    async def _call_connected(self, path_params: Mapping[str, str], query: bytes) -> None:
        target = self._connect
        grpc_path = target.method.grpc_path
        scope = RequestScope(self._container)
        context = RequestContext(self._headers, grpc_path, "websocket", self._peer, scope, self._ws)
        try:
            request = target.build(b"", path_params, query)
            if target.check is not None:
                target.check(request)
            result = target.handler(request, context)
            if inspect.isasyncgen(result):
                # Closed here, not by the garbage collector: its finally blocks run on time.
                async with contextlib.aclosing(result) as replies:
                    reply: Any
                    async for reply in replies:
                        self._send(reply_frame(None, target.reply.dump(reply)))
            elif hasattr(result, "__aiter__"):
                async for reply in result:
                    self._send(reply_frame(None, target.reply.dump(reply)))
            else:
                if inspect.isawaitable(result):
                    result = await result
                self._send(reply_frame(None, target.reply.dump(result)))
        except Exception as error:  # noqa: BLE001 - every failure becomes an error frame
            code, message = self._status_of(error, grpc_path)
            self._send(error_frame(None, code, message))
            # The connection exists for this call: without it there is nothing to serve.
            self._send(_Close(_SERVER_ERROR if code in _SERVER_FAULTS else _POLICY))
        finally:
            if context.scope_opened:
                await close_request_scope(context, self._log)

    def _status_of(self, error: Exception, grpc_path: str) -> tuple[grpc.StatusCode, str]:
        if isinstance(error, StatusError):
            return error.code, str(error)
        if isinstance(error, TranscodeError):
            return grpc.StatusCode.INVALID_ARGUMENT, str(error)
        if isinstance(error, grpc.aio.AioRpcError):
            code = error.code()
            return code, error.details() or code.name.lower().replace("_", " ")
        self._log.error("unhandled error in %s over WebSocket", grpc_path, exc_info=error)
        return grpc.StatusCode.INTERNAL, _INTERNAL
