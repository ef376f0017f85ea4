"""The ASGI application: route, limit the body and the time to send it, count, trace, answer.

A lean ASGI callable rather than Starlette's router and middleware stack:
each route's middleware chain is composed once, and a request costs one
route lookup, one Starlette ``Request`` and the chain itself. Starlette's
request and response objects are kept for handlers and middlewares.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from opentelemetry import context as otel_context
from starlette.requests import Request

from lbtoolkit._shortcuts._starlette import JsonReply
from lbtoolkit.server.grpc._drain import REFUSAL
from lbtoolkit.server.http._deadlines import BodyDeadlines
from lbtoolkit.server.http._endpoint import metadata_of
from lbtoolkit.server.http._errors import PayloadTooLargeError, RequestTimeoutError
from lbtoolkit.server.http._responses import error_response, json_error

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from lbtoolkit.server.http._middleware import Endpoint
    from lbtoolkit.server.http._observe import RouteStats, Tracing
    from lbtoolkit.server.http._router import Router
    from lbtoolkit.tools import Outages

__all__ = ["HttpApp", "RouteTarget", "url_fault"]

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class RouteTarget:
    """What a route runs (its composed chain) and where it counts."""

    endpoint: Endpoint
    stats: RouteStats


class HttpApp:
    """The ASGI application of one HTTP server.

    ``max_body_size`` bounds request bodies (0: no limit); a declared
    ``Content-Length`` over it is refused before reading, a chunked body as
    soon as it grows past it. ``read_timeout`` bounds the time, in seconds,
    the client takes to send the body (408 after it).
    """

    def __init__(
        self,
        router: Router[RouteTarget],
        *,
        max_body_size: int,
        read_timeout: float,
        unmatched: RouteStats,
        tracing: Tracing,
        log: logging.Logger,
        outages: Outages | None = None,
    ) -> None:
        self._router = router
        self._max_body_size = max_body_size
        self._deadlines = BodyDeadlines(read_timeout)
        self._unmatched_stats = unmatched
        self._unrouted: dict[str, ASGIApp] = {}
        self._tracing = tracing
        self._log = log
        self._outages = outages
        self._stats = (unmatched, *(route.target.stats for route in router.routes))
        # Set when the server stops: requests that come after are answered 503.
        self.refusing = False

    def close(self) -> None:
        """The server stopped: no more body reads to time."""
        self._deadlines.close()

    @property
    def in_flight(self) -> int:
        """Requests being served."""
        return sum(stats.in_flight for stats in self._stats)

    def running(self) -> dict[str, int]:
        """Requests being served, by route label (routes with none left out)."""
        return {stats.label: stats.in_flight for stats in self._stats if stats.in_flight}

    def answer_unrouted(self, path: str, app: ASGIApp) -> None:
        """Have ``app`` answer requests to ``path`` that no route takes.

        Such an answer goes through no middleware and counts in no metric or
        span: it is the server's own page (``/docs``), not an RPC.
        """
        self._unrouted[path] = app

    async def __call__(  # noqa: C901, PLR0912, PLR0915 - flat on purpose: it runs per request
        self, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if scope["type"] != "http":
            await _not_http(scope, receive, send)
            return
        if self.refusing:
            await self._refuse(scope, receive, send)
            return
        started = perf_counter()
        method: str = scope["method"]
        raw_path: bytes | None = scope.get("raw_path")
        fault: str | None = None
        if not raw_path:
            path = scope["path"]
        elif b"%" in raw_path or not raw_path.isascii():
            # Checked here, on the raw bytes: the server's decoded path has
            # U+FFFD already where the bytes were not UTF-8.
            fault = url_fault(raw_path, "URL path")
            path = raw_path.decode("utf-8", "replace")
        else:
            path = raw_path.decode("ascii")
        query: bytes = scope["query_string"]
        if query and fault is None and (b"%" in query or not query.isascii()):
            fault = url_fault(query, "query")
        found = self._router.match(method, path) if fault is None else None
        if found is None:
            if fault is None and method == "HEAD":
                # RFC 9110: HEAD answers as GET would, without the body (which
                # uvicorn leaves out of any answer to a HEAD request).
                found = self._router.match("GET", path)
            if found is None:
                unrouted = self._unrouted.get(scope["path"]) if self._unrouted else None
                if unrouted is not None:
                    await unrouted(scope, receive, send)
                    return
                await self._unmatched(
                    scope, receive, send, fault=fault, method=method, path=path, started=started
                )
                return
        route, values = found
        stats = route.target.stats
        span: Span | None = None
        token = None
        error: Exception | None = None
        status = 500
        stats.in_flight += 1
        try:
            if self._tracing.active():
                headers = metadata_of(scope["headers"])
                span, span_context = self._tracing.start(method, route.path, scope["path"], headers)
                token = otel_context.attach(span_context)
            scope["path_params"] = route.params(values) if values else {}
            try:
                limit = self._max_body_size
                declared = _content_length(scope["headers"])
                if declared is None:
                    guarded = _guarded(receive, limit, self._deadlines)
                elif limit and declared > limit:
                    guarded = None
                elif declared:
                    guarded = _guarded(receive, 0, self._deadlines)
                else:
                    guarded = receive
                if guarded is None:
                    response: Response = json_error(413, str(PayloadTooLargeError(limit)))
                else:
                    response = await route.target.endpoint(Request(scope, guarded))
            except Exception as exc:  # noqa: BLE001 - raised by a middleware or an extra handler
                response, error = error_response(exc, self._log, route.label, self._outages), exc
            status = response.status_code
            if type(response) is JsonReply and response.background is None:
                # What Starlette's Response.__call__ sends, one await less deep; read
                # here, so what a middleware changed in the reply (status, headers) holds.
                raw_headers = response.raw_headers
                await send(
                    {"type": "http.response.start", "status": status, "headers": raw_headers}
                )
                await send({"type": "http.response.body", "body": response.body})
            else:
                await response(scope, receive, send)
        finally:
            stats.in_flight -= 1
            stats.record(status, perf_counter() - started)
            if span is not None:
                self._tracing.finish(span, status, error)
            if token is not None:
                otel_context.detach(token)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer while stopping: the server's own pages still, every request else 503."""
        unrouted = self._unrouted.get(scope["path"])
        if unrouted is not None:
            await unrouted(scope, receive, send)
            return
        refusal = json_error(503, REFUSAL, headers={"connection": "close"})
        await refusal(scope, receive, send)

    async def _unmatched(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        fault: str | None,
        method: str,
        path: str,
        started: float,
    ) -> None:
        """Answer a request no route takes (404, 405) or whose URL is malformed (400)."""
        stats = self._unmatched_stats
        span: Span | None = None
        token = None
        status = 500
        stats.in_flight += 1
        try:
            if self._tracing.active():
                headers = metadata_of(scope["headers"])
                span, span_context = self._tracing.start(method, "", scope["path"], headers)
                token = otel_context.attach(span_context)
            if fault is not None:
                response = json_error(400, fault)
            else:
                response = self._unmatched_response(method, path)
            status = response.status_code
            await response(scope, receive, send)
        finally:
            stats.in_flight -= 1
            stats.record(status, perf_counter() - started)
            if span is not None:
                self._tracing.finish(span, status, None)
            if token is not None:
                otel_context.detach(token)

    def _unmatched_response(self, method: str, path: str) -> Response:
        allowed = self._router.allowed_methods(path)
        if allowed:
            message = f"method {method} is not allowed on {path}"
            return json_error(405, message, headers={"allow": ", ".join(allowed)})
        return json_error(404, f"no route for {method} {path}")


def url_fault(raw: bytes, where: str) -> str | None:
    """What is wrong with a raw path or query (``where`` names it), or None.

    A ``%`` must start an escape of two hex digits, and the bytes, once
    decoded, must be UTF-8: nothing is read with U+FFFD standing in for them.
    """
    bad = _BAD_ESCAPE.search(raw)
    if bad is not None:
        shown = raw[bad.start() : bad.start() + 3].decode("ascii", "backslashreplace")
        return f'invalid percent-escape "{shown}" in the {where}'
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return f"the {where} is not valid UTF-8 once percent-decoded"
    return None


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _guarded(receive: Receive, limit: int, deadlines: BodyDeadlines) -> Receive:
    """``receive`` bounded in time until the body is complete, and in size (``limit``, if set).

    The size is counted only for bodies without a ``Content-Length``: a
    declared length was checked before. The clock starts at the first read.
    """
    received = 0
    deadline: float | None = None
    complete = False

    async def guarded() -> Message:
        nonlocal received, deadline, complete
        if complete:  # only a disconnect can come now: no deadline for that wait
            return await receive()
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + deadlines.timeout
        try:
            message = await deadlines.read(receive, deadline)
        except TimeoutError:
            raise RequestTimeoutError(deadlines.timeout) from None
        if message["type"] != "http.request":
            return message
        complete = not message.get("more_body", False)
        if limit:
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLargeError(limit)
        return message

    return guarded


async def _not_http(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        # Servers that send lifespan events get them acknowledged; there is no work to do.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
