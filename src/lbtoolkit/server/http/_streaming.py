"""Server-streaming methods over HTTP: Server-Sent Events or newline-delimited JSON.

The request is transcoded and validated as a unary one, so a bad request
still gets its ``400`` JSON answer; then the headers go out at once and each
reply is written as it comes. A failure after that point cannot change the
status line any more: it is the stream's last item (an ``error`` event, or an
``{"error": ...}`` line), in the JSON shape of every HTTP error.

A stream ends early for three reasons, each its own way: the client hangs
up (the implementation is cancelled, nothing more is written), the
``grpc-timeout`` the client sent runs out (``DEADLINE_EXCEEDED``), or the
server stops (``UNAVAILABLE``, at once rather than at the end of the
shutdown budget: a stream that watches something never ends by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from starlette.responses import Response

from lbtoolkit._shortcuts._starlette import read_body
from lbtoolkit.errors import DeadlineExceeded, Unavailable
from lbtoolkit.server._context import CallSite, RequestContext, close_request_scope
from lbtoolkit.server._validation import request_check
from lbtoolkit.server.http._endpoint import grpc_timeout, metadata_of, peer_of
from lbtoolkit.server.http._responses import error_response

if TYPE_CHECKING:
    import logging

    from dishka import AsyncContainer
    from google.protobuf.message import Message
    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send

    from lbtoolkit.server.http._middleware import Endpoint
    from lbtoolkit.server.http._transcode import Binding
    from lbtoolkit.tools import Outages

__all__ = [
    "NDJSON",
    "SSE",
    "OpenStream",
    "StreamFormat",
    "Streams",
    "choose_format",
    "open_local_stream",
    "stream_endpoint",
]

OpenStream = Callable[[Any, RequestContext, "float | None"], Awaitable[AsyncIterator[Any]]]
"""Starts one stream: ``(request, context, timeout in seconds or None) -> replies``."""

_STOPPING = "the server is stopping"


class StreamFormat:
    """How the items of a stream are written: a reply's JSON, or an error's, to bytes."""

    __slots__ = ("_after_error", "_after_reply", "_before_error", "_before_reply", "media_type")

    def __init__(
        self, media_type: str, reply: tuple[bytes, bytes], error: tuple[bytes, bytes]
    ) -> None:
        self.media_type = media_type
        self._before_reply, self._after_reply = reply
        self._before_error, self._after_error = error

    def reply(self, content: bytes) -> bytes:
        """One reply (its JSON) as written on the wire."""
        return self._before_reply + content + self._after_reply

    def error(self, content: bytes) -> bytes:
        """The final error (its JSON body) as written on the wire."""
        return self._before_error + content + self._after_error

    def with_media_type(self, media_type: str) -> StreamFormat:
        """The same framing under another ``Content-Type``."""
        before_reply, after_reply, before_error, after_error = (
            self._before_reply,
            self._after_reply,
            self._before_error,
            self._after_error,
        )
        return StreamFormat(media_type, (before_reply, after_reply), (before_error, after_error))


# The JSON the server writes has no raw newline in it (strings escape theirs),
# so one ``data:`` line holds one message.
SSE: Final = StreamFormat(
    "text/event-stream", (b"data: ", b"\n\n"), (b"event: error\ndata: ", b"\n\n")
)
"""Server-Sent Events: ``data: {...}`` per reply, ``event: error`` last on failure."""

# grpc-gateway's framing, so its clients read these streams unchanged.
NDJSON: Final = StreamFormat(
    "application/x-ndjson", (b'{"result":', b"}\n"), (b'{"error":', b"}\n")
)
"""Newline-delimited JSON: ``{"result": {...}}`` per line, ``{"error": {...}}`` last on failure."""

_NDJSON_AS_JSON: Final = NDJSON.with_media_type("application/json")
_FORMATS: Final = {
    "text/event-stream": SSE,
    "application/x-ndjson": NDJSON,
    "application/jsonl": NDJSON.with_media_type("application/jsonl"),
    "application/json": _NDJSON_AS_JSON,
}


def choose_format(accept: str | None) -> StreamFormat:
    """The format the ``Accept`` header prefers; grpc-gateway's (JSON lines) by default.

    Media ranges are ranked by their ``q`` (then by their order); ranges naming
    no stream format (``*/*``, ``text/html``) are passed over.
    """
    if not accept:
        return _NDJSON_AS_JSON
    best: StreamFormat | None = None
    best_q = 0.0
    for media_range in accept.split(","):
        kind, _, parameters = media_range.partition(";")
        found = _FORMATS.get(kind.strip().lower())
        if found is None:
            continue
        q = _quality(parameters)
        if q > best_q:
            best, best_q = found, q
    return best or _NDJSON_AS_JSON


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


class Streams:
    """The streams one server is writing, so that stopping it ends them at once."""

    __slots__ = ("_running", "stopping")

    def __init__(self) -> None:
        self._running: dict[asyncio.Task[Any], _State] = {}
        self.stopping = False

    def __len__(self) -> int:
        return len(self._running)

    def stop_all(self) -> int:
        """End every stream with an ``UNAVAILABLE`` error; how many there were."""
        self.stopping = True
        for task, state in self._running.items():
            if state.cut is None:
                state.cut = _STOPPING
                task.cancel(_STOPPING)
        return len(self._running)

    def _add(self, task: asyncio.Task[Any], state: _State) -> None:
        self._running[task] = state

    def _discard(self, task: asyncio.Task[Any]) -> None:
        self._running.pop(task, None)


class _State:
    """Why a stream's task was cancelled by the stream itself (``None``: it was not)."""

    __slots__ = ("cut",)

    def __init__(self) -> None:
        self.cut: str | None = None


_DISCONNECTED = "the client closed the connection"


def open_local_stream(handler: Callable[[Any, RequestContext], Any]) -> OpenStream:
    """Streams of an implementation method: an async generator, or ``async def`` returning one.

    The timeout is kept by the stream itself, so the implementation does not see it.
    """

    async def start(message: Any, context: RequestContext, rpc_timeout: float | None) -> Any:
        del rpc_timeout
        result = handler(message, context)
        if inspect.isawaitable(result) and not hasattr(result, "__aiter__"):
            result = await result
        if not hasattr(result, "__aiter__"):
            msg = (
                f"a server-streaming method must return an async iterator "
                f"(async def ... yield), not {type(result).__name__}"
            )
            raise TypeError(msg)
        return result

    return start


def stream_endpoint(
    binding: Binding,
    open_stream: OpenStream,
    grpc_path: str,
    *,
    container: AsyncContainer | None,
    log: logging.Logger,
    streams: Streams,
    outages: Outages | None = None,
    validation: bool = True,
) -> Endpoint:
    """The endpoint of a server-streaming method's binding (see the module's documentation).

    ``open_stream`` starts the stream (the implementation's, or another
    service's for a proxied method).
    """
    check = request_check(binding.request_codec.message_class, enabled=validation)
    reads_body = binding.reads_body
    build = binding.request
    site = CallSite(grpc_path, "http", container, _metadata_of, _peer_of)

    async def endpoint(request: Request) -> Response:
        asgi = request.scope
        context = site.context(request)
        try:
            timeout = grpc_timeout(request.headers.get("grpc-timeout"))
            body = await read_body(request) if reads_body else b""
            message = build(body, asgi["path_params"], asgi["query_string"])
            if check is not None:
                check(message)
        except Exception as error:  # noqa: BLE001 - every error becomes an answer
            if context.scope_opened:
                await close_request_scope(context, log)
            return error_response(error, log, grpc_path, outages)
        fmt = choose_format(request.headers.get("accept"))
        return _StreamingReply(
            fmt,
            open_stream,
            message,
            context,
            timeout,
            _Writer(binding.response, grpc_path, log, outages, streams),
        )

    return endpoint


class _Writer:
    """What every stream of one route shares: how to render replies and errors, and the registry."""

    __slots__ = ("grpc_path", "log", "outages", "render", "streams")

    def __init__(
        self,
        render: Callable[[Message], bytes],
        grpc_path: str,
        log: logging.Logger,
        outages: Outages | None,
        streams: Streams,
    ) -> None:
        self.render = render
        self.grpc_path = grpc_path
        self.log = log
        self.outages = outages
        self.streams = streams


class _StreamingReply(Response):
    """A ``200`` whose body is the stream; the ASGI call runs the implementation."""

    # Response.__init__ is not called: the headers are fixed, the body is written as it comes.
    def __init__(  # noqa: PLR0917 - private, built in one place
        self,
        fmt: StreamFormat,
        open_stream: OpenStream,
        message: Any,
        context: RequestContext,
        timeout: float | None,
        writer: _Writer,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = [
            (b"content-type", fmt.media_type.encode()),
            (b"cache-control", b"no-cache"),
            # nginx buffers answers unless told not to: a stream would arrive in bursts.
            (b"x-accel-buffering", b"no"),
        ]
        self._fmt = fmt
        self._open = open_stream
        self._message = message
        self._context = context
        self._timeout = timeout
        self._writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        del scope
        writer = self._writer
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - an ASGI call runs in a task
        state = _State()
        if writer.streams.stopping:
            state.cut = _STOPPING
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        watcher = asyncio.create_task(_watch_disconnect(receive, task, state))
        writer.streams._add(task, state)  # noqa: SLF001 - the registry's own helper
        try:
            if state.cut == _STOPPING:
                failure: Exception | None = Unavailable(_STOPPING)
            else:
                failure = await self._run(send, task, state)
            if failure is not None:
                answer = error_response(failure, writer.log, writer.grpc_path, writer.outages)
                body = self._fmt.error(bytes(answer.body))
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if state.cut != _DISCONNECTED:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            writer.streams._discard(task)  # noqa: SLF001 - the registry's own helper
            watcher.cancel()
            if self._context.scope_opened:
                await close_request_scope(self._context, writer.log)

    async def _run(self, send: Send, task: asyncio.Task[Any], state: _State) -> Exception | None:
        """Write the replies; the error that ended the stream, if one did."""
        fmt, render = self._fmt, self._writer.render
        deadline = asyncio.timeout(self._timeout)
        try:
            async with deadline:
                replies = await self._open(self._message, self._context, self._timeout)
                async with _closing(replies):
                    async for reply in replies:
                        body = fmt.reply(render(reply))
                        await send({"type": "http.response.body", "body": body, "more_body": True})
        except asyncio.CancelledError:
            if state.cut is None:
                raise  # cancelled from outside: the server's shutdown budget ran out
            task.uncancel()
            if state.cut == _DISCONNECTED:
                return None
            return Unavailable(_STOPPING)
        except TimeoutError as error:
            if deadline.expired():
                return DeadlineExceeded(f"deadline of {self._timeout:g}s exceeded")
            return error
        except Exception as error:  # noqa: BLE001 - every failure becomes the last item
            return error
        return None


@contextlib.asynccontextmanager
async def _closing(replies: AsyncIterator[Any]) -> AsyncIterator[None]:
    """Close an async generator here, not in the garbage collector, so its ``finally`` runs now."""
    try:
        yield
    finally:
        close = getattr(replies, "aclose", None)
        if close is not None:
            await close()


async def _watch_disconnect(receive: Receive, stream: asyncio.Task[Any], state: _State) -> None:
    # The body was read already (or there is none): only a disconnect can come.
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if state.cut is None:
                state.cut = _DISCONNECTED
                stream.cancel(_DISCONNECTED)
            return


def _metadata_of(request: Request) -> dict[str, str]:
    return metadata_of([(name.lower(), value) for name, value in request.scope["headers"]])


def _peer_of(request: Request) -> str | None:
    return peer_of(request.scope.get("client"))
