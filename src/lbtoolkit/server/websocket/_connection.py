"""One WebSocket connection: the call made on connect, then proxied frames.

A client- or bidirectional-streaming ``websocket`` method takes the frames
instead: each one is a request message of its stream, and the JSON ``null``
frame ends that stream (a WebSocket has no half-close of its own).

A streaming ``websocket_proxy`` method is a call that several frames share,
under one ``id``: the frame naming the method opens it, later frames with
that ``id`` add requests (``"end": true`` ends them), and the answers carry
the ``id`` until an ``"end": true`` or an error frame closes the call.

Three kinds of tasks share a connection: the reader (client frames), the
calls it starts (the connect call, proxied methods), and the writer, the only
one that sends. Calls hand their frames to the writer through a bounded
queue: a client that does not read its frames fills it and is disconnected,
so a slow reader costs a fixed amount of memory.

When the server stops, :meth:`Connection.drain` stops taking calls (a new
call frame is answered ``UNAVAILABLE``), ends the streams at once, waits for
the other calls in flight until the deadline, then closes with code 1012
once their answers are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from lbtoolkit.errors import StatusError
from lbtoolkit.server._context import RequestContext, RequestScope, close_request_scope
from lbtoolkit.server.grpc._drain import REFUSAL
from lbtoolkit.server.http._errors import InvalidValue, TranscodeError
from lbtoolkit.server.websocket._frames import (
    FrameError,
    FrameId,
    end_frame,
    error_frame,
    parse_request,
    reply_frame,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Mapping

    from dishka import AsyncContainer
    from google.protobuf.message import Message
    from starlette.websockets import WebSocket

    from lbtoolkit.server._proxy import ProxyCall
    from lbtoolkit.server._validation import RequestCheck
    from lbtoolkit.server.http._codec import MessageCodec
    from lbtoolkit.spec import MethodSpec

__all__ = ["ConnectTarget", "Connection", "Limits", "ProxyTarget", "call_label"]

# Close codes (RFC 6455 section 7.4.1).
_NORMAL = 1000
_POLICY = 1008
_SERVER_ERROR = 1011
_SERVICE_RESTART = 1012
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
_INTERNAL = "internal error"
_CLOSE_REASON_BYTES = 123  # RFC 6455 section 5.5: a control frame's payload is at most 125 bytes
_END_OF_REQUESTS = "null"
_REQUESTS_AHEAD = 64  # request frames read before the implementation takes them
# What a stream ended by the drain says: the words of the HTTP server's streams.
_STOPPING = "the server is stopping"
_CUT_GRACE = 0.2  # seconds past the deadline for cancelled calls to end and the close to go out


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
    # A client- or bidi-streaming method's request codec: frames are its requests.
    requests: MessageCodec | None = None


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
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _OpenStream:
    """A proxied call whose requests come in frames: where they go, and the call."""

    requests: asyncio.Queue[Any]
    target: ProxyTarget
    call: asyncio.Task[None]


class _EndOfRequests:
    """The client said its request stream is over (a ``null`` frame)."""


_END = _EndOfRequests()


def call_label(method: MethodSpec) -> str:
    """How a call of ``method`` over a WebSocket is named where calls are counted."""
    return f"WebSocket {method.grpc_path}"


def close_reason(code: grpc.StatusCode, message: str) -> str:
    """A close frame's reason: the status as JSON, its message cut to fit 123 bytes of UTF-8."""
    reason = json.dumps({"code": code.name, "message": message}, ensure_ascii=False)
    while len(reason.encode()) > _CLOSE_REASON_BYTES:
        message = message[: max(len(message) - max(len(reason.encode()) - 120, 1), 0)]
        reason = json.dumps({"code": code.name, "message": message + "..."}, ensure_ascii=False)
    return reason


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
        # What each call is named by where running calls are counted.
        self._labels: dict[asyncio.Task[None], str] = {}
        # The calls that are streams, with the id their frames carry: ended, not waited for.
        self._streams: dict[asyncio.Task[None], FrameId] = {}
        # Request streams of proxied streaming calls still open, by their frame id.
        self._request_streams: dict[FrameId, _OpenStream] = {}
        self._overflow = asyncio.Event()
        self._closing = False
        self._draining = False
        self._ended = asyncio.Event()
        # The calls the drain cancelled at its deadline.
        self._cut: set[asyncio.Task[None]] = set()

    def running(self) -> list[str]:
        """The calls running now and not cut by the drain, by label (one entry per call)."""
        return [self._labels[t] for t in self._calls if not t.done() and t not in self._cut]

    async def serve(self, path_params: Mapping[str, str], query: bytes) -> None:
        """Accept, make the connect call, answer frames; return once the connection ended."""
        try:
            await self._serve(path_params, query)
        finally:
            self._ended.set()

    async def _serve(self, path_params: Mapping[str, str], query: bytes) -> None:
        await self._ws.accept()
        if self._draining:
            # Accepted as the drain began: its call has not started, so none is cut.
            await self._close(_SERVICE_RESTART)
            return
        writer = asyncio.create_task(self._write())
        overflow = asyncio.create_task(self._overflow.wait())
        connect = self._connect.method
        label = call_label(connect)
        if self._connect.requests is not None:
            # Bounded: a client sending faster than the implementation reads is slowed down.
            requests: asyncio.Queue[Any] = asyncio.Queue(_REQUESTS_AHEAD)
            reader = asyncio.create_task(self._read_requests(self._connect.requests, requests))
            self._start(self._call_streaming(requests), label, stream=True)
        else:
            reader = asyncio.create_task(self._read())
            call = self._call_connected(path_params, query)
            self._start(call, label, stream=connect.server_streaming)
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

    async def drain(self, deadline: float) -> list[str]:
        """Take no new call, end the streams, wait for the other calls, close with 1012.

        At ``deadline`` (loop time) the calls still running are cancelled
        and the connection closed all the same, given a moment past the
        deadline to say so. Returns the labels of the calls cut.
        """
        self._draining = True
        # An ended stream's request frames have nowhere to go any more.
        self._request_streams.clear()
        streams = {task: frame_id for task, frame_id in self._streams.items() if not task.done()}
        for task in streams:
            task.cancel()
        loop = asyncio.get_running_loop()
        if streams:
            # Cancelled, they end at once, unless a finally block of theirs waits.
            await asyncio.wait(streams, timeout=max(deadline - loop.time(), 0.0))
        for frame_id in streams.values():
            self._send(error_frame(frame_id, grpc.StatusCode.UNAVAILABLE, _STOPPING))
        while (calls := [task for task in self._calls if not task.done()]) and (
            loop.time() < deadline
        ):
            await asyncio.wait(calls, timeout=deadline - loop.time())
        closed_by = deadline
        overdue = [task for task in self._calls if not task.done()]
        cut = [self._labels[task] for task in overdue]
        if overdue:
            # Cut here rather than by the server: the close below must reach the
            # client before the engine shuts down (granian writes nothing after).
            closed_by = loop.time() + _CUT_GRACE
            self._cut.update(overdue)
            for task in overdue:
                task.cancel()
            await asyncio.wait(overdue, timeout=_CUT_GRACE)
        # Queued after every answer: the writer sends them all, then closes.
        self._send(_Close(_SERVICE_RESTART))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(closed_by):
                await self._ended.wait()
        return cut

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
                await self._close(frame.code, frame.reason)
                return
            try:
                await self._ws.send_text(frame)
            except Exception:  # noqa: BLE001 - the client is gone: nothing left to write to
                return

    async def _close(self, code: int, reason: str = "") -> None:
        # A peer that stopped reading may never acknowledge: do not wait on it forever.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._ws.close(code, reason or None)

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

    async def _read_requests(self, codec: MessageCodec, requests: asyncio.Queue[Any]) -> None:
        """Frames as the streaming call's requests; a frame that is not one ends the call."""
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            item: Any
            try:
                if text is None:
                    text = (message.get("bytes") or b"").decode()
                item = _END if text.strip() == _END_OF_REQUESTS else _request_of(codec, text)
            except UnicodeDecodeError:
                item = FrameError("not UTF-8")
            except (FrameError, TranscodeError) as error:
                item = error
            await requests.put(item)

    async def _dispatch(self, text: str) -> None:
        if self._request_streams and await self._continue_stream(text):
            return
        try:
            request = parse_request(text)
        except FrameError as error:
            self._send(error_frame(error.frame_id, grpc.StatusCode.INVALID_ARGUMENT, str(error)))
            return
        if self._draining:
            self._refuse(request.frame_id)
            return
        target = self._proxies.get(request.method)
        if target is None:
            message = f"unknown method {request.method!r}"
            self._send(error_frame(request.frame_id, grpc.StatusCode.UNIMPLEMENTED, message))
            return
        streaming = target.call.shape
        if any(streaming) and request.frame_id is None:
            message = f"method {request.method!r} streams: its frames need an id"
            self._send(error_frame(None, grpc.StatusCode.INVALID_ARGUMENT, message))
            return
        # Waiting here stops reading: a client sending faster than calls end is slowed down.
        await self._slots.acquire()
        frame_id, payload = request.frame_id, request.payload
        if self._draining:
            # The drain began while this frame waited for a slot: it never ran.
            self._slots.release()
            self._refuse(frame_id)
            return
        label = call_label(target.method)
        if streaming[0]:
            requests: asyncio.Queue[Any] = asyncio.Queue(_REQUESTS_AHEAD)
            exchange = self._call_proxy_exchange(frame_id, target, requests)
            call = self._start(exchange, label, stream=True, frame_id=frame_id, slot=True)
            stream = self._request_streams[frame_id] = _OpenStream(requests, target, call)
            if payload:
                await self._add_request(frame_id, stream, payload)
        elif streaming[1]:
            call_stream = self._call_proxy_stream(frame_id, target, payload)
            self._start(call_stream, label, stream=True, frame_id=frame_id, slot=True)
        else:
            self._start(self._call_proxy(frame_id, target, payload), label, slot=True)

    def _refuse(self, frame_id: FrameId) -> None:
        """Answer a call frame that came once the drain began: the call never ran."""
        self._send(error_frame(frame_id, grpc.StatusCode.UNAVAILABLE, REFUSAL))

    async def _continue_stream(self, text: str) -> bool:
        """Hand a frame to the open request stream its ``id`` names; ``False`` if it names none."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return False
        if type(data) is not dict:
            return False
        frame_id = data.get("id")
        if isinstance(frame_id, bool) or not isinstance(frame_id, str | int | float):
            return False
        stream = self._request_streams.get(frame_id)
        if stream is None:
            return False
        if data.get("end") is True:
            del self._request_streams[frame_id]
            await stream.requests.put(_END)
        else:
            await self._add_request(frame_id, stream, data.get("payload"))
        return True

    async def _add_request(self, frame_id: FrameId, stream: _OpenStream, payload: Any) -> None:
        """Send ``payload`` on an open stream; a bad one ends the call with an error frame.

        Checked here, not where gRPC reads the requests: an error raised there
        would not reach the call.
        """
        target = stream.target
        try:
            if type(payload) is not dict:
                raise FrameError('"payload" must be a JSON object', frame_id)  # noqa: TRY301
            request = _load(target.request, payload)
            if isinstance(request, TranscodeError):
                raise request  # noqa: TRY301
            if target.call.check is not None:
                target.call.check(request)
        except Exception as error:  # noqa: BLE001 - every failure becomes an error frame
            del self._request_streams[frame_id]
            stream.call.cancel()
            code, message = self._status_of(error, target.method.grpc_path)
            self._send(error_frame(frame_id, code, message))
            return
        await stream.requests.put(request)

    def _start(
        self,
        call: Coroutine[Any, Any, None],
        label: str,
        *,
        stream: bool = False,
        frame_id: FrameId = None,
        slot: bool = False,
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(call)
        self._calls.add(task)
        self._labels[task] = label
        if stream:
            self._streams[task] = frame_id
        task.add_done_callback(self._forget)
        if slot:
            task.add_done_callback(lambda _: self._slots.release())
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        self._labels.pop(task, None)
        self._streams.pop(task, None)

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

    async def _call_streaming(self, requests: asyncio.Queue[Any]) -> None:
        """The method whose requests are the frames: its replies, then a normal close."""
        target = self._connect
        grpc_path = target.method.grpc_path
        scope = RequestScope(self._container)
        context = RequestContext(self._headers, grpc_path, "websocket", self._peer, scope, self._ws)
        try:
            result = target.handler(_request_stream(requests, target.check), context)
            await self._send_replies(result)
            self._send(_Close(_NORMAL))
        except Exception as error:  # noqa: BLE001 - every failure becomes an error frame
            self._fail(error, grpc_path)
        finally:
            if context.scope_opened:
                await close_request_scope(context, self._log)

    async def _send_replies(self, result: Any) -> None:
        """Send what the implementation returned: one reply, or each one of a stream."""
        target = self._connect
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

    def _fail(self, error: Exception, grpc_path: str) -> None:
        """End the connection's call with ``error``: an error frame, then a close saying why."""
        code, message = self._status_of(error, grpc_path)
        self._send(error_frame(None, code, message))
        # The connection exists for this call: without it there is nothing to serve.
        close_code = _SERVER_ERROR if code in _SERVER_FAULTS else _POLICY
        self._send(_Close(close_code, close_reason(code, message)))

    async def _call_proxy_stream(
        self, frame_id: FrameId, target: ProxyTarget, payload: Any
    ) -> None:
        """A server-streaming proxied call: each upstream reply a frame, then the end frame."""
        try:
            try:
                request = target.request.load(payload)
            except InvalidValue as error:
                raise TranscodeError.of("payload", error) from None
            async for reply in target.call.stream(request, self._headers):
                self._send(reply_frame(frame_id, target.reply.dump(reply)))
            self._send(end_frame(frame_id))
        except Exception as error:  # noqa: BLE001 - every failure becomes an error frame
            code, message = self._status_of(error, target.method.grpc_path)
            self._send(error_frame(frame_id, code, message))

    async def _call_proxy_exchange(
        self, frame_id: FrameId, target: ProxyTarget, requests: asyncio.Queue[Any]
    ) -> None:
        """A client- or bidi-streaming proxied call: requests from frames, replies as frames."""
        try:
            stream = _request_stream(requests, None)
            async for reply in target.call.exchange(stream, self._headers):
                self._send(reply_frame(frame_id, target.reply.dump(reply)))
            self._send(end_frame(frame_id))
        except Exception as error:  # noqa: BLE001 - every failure becomes an error frame
            code, message = self._status_of(error, target.method.grpc_path)
            self._send(error_frame(frame_id, code, message))
        finally:
            open_stream = self._request_streams.get(frame_id)
            if open_stream is not None and open_stream.requests is requests:
                del self._request_streams[frame_id]

    async def _call_connected(self, path_params: Mapping[str, str], query: bytes) -> None:
        target = self._connect
        grpc_path = target.method.grpc_path
        scope = RequestScope(self._container)
        context = RequestContext(self._headers, grpc_path, "websocket", self._peer, scope, self._ws)
        try:
            request = target.build(b"", path_params, query)
            if target.check is not None:
                target.check(request)
            await self._send_replies(target.handler(request, context))
        except Exception as error:  # noqa: BLE001 - every failure becomes an error frame
            self._fail(error, grpc_path)
        finally:
            if context.scope_opened:
                await close_request_scope(context, self._log)

    def _status_of(self, error: Exception, grpc_path: str) -> tuple[grpc.StatusCode, str]:
        if isinstance(error, StatusError):
            return error.code, str(error)
        if isinstance(error, TranscodeError | FrameError):
            return grpc.StatusCode.INVALID_ARGUMENT, str(error)
        if isinstance(error, grpc.aio.AioRpcError):
            code = error.code()
            return code, error.details() or code.name.lower().replace("_", " ")
        self._log.error("unhandled error in %s over WebSocket", grpc_path, exc_info=error)
        return grpc.StatusCode.INTERNAL, _INTERNAL


def _request_of(codec: MessageCodec, text: str) -> Message:
    """A frame of a request stream as its message; ``FrameError``/``TranscodeError`` if not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FrameError(f"malformed JSON ({error})") from None
    if type(data) is not dict:
        raise FrameError("a request frame is a JSON object (or null to end the requests)")
    try:
        message: Message = codec.load(data)
    except InvalidValue as error:
        raise TranscodeError.of("frame", error) from None
    return message


def _load(codec: MessageCodec, payload: dict[str, Any]) -> Message | TranscodeError:
    """A payload as its request message, or the error saying why it is not one."""
    try:
        message: Message = codec.load(payload)
    except InvalidValue as error:
        return TranscodeError.of("payload", error)
    return message


async def _request_stream(
    requests: asyncio.Queue[Any], check: RequestCheck | None
) -> AsyncIterator[Message]:
    """The requests the implementation reads; a bad frame raises where it is read."""
    while True:
        item = await requests.get()
        if item is _END:
            return
        if isinstance(item, Exception):
            raise item
        if check is not None:
            check(item)
        yield item
