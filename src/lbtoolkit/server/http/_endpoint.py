"""Endpoints that call an RPC implementation, and the request context they pass it."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from lbtoolkit.errors import StatusError
from lbtoolkit.server._context import RequestContext
from lbtoolkit.server._lazy_context import (
    LazyRequestContext,
    method_context_type,
    new_method_context,
)
from lbtoolkit.server.http._responses import error_response, json_error

if TYPE_CHECKING:
    import logging

    from dishka import AsyncContainer

    from lbtoolkit.server._scope import RequestScope
    from lbtoolkit.server.http._middleware import Endpoint
    from lbtoolkit.server.http._transcode import Binding
    from lbtoolkit.tools import Outages

__all__ = ["Handler", "as_async", "error_endpoint", "metadata_of", "peer_of", "rpc_endpoint"]

Handler = Callable[[Any, RequestContext], Awaitable[Message]]
"""An implementation method: ``async def get_user(self, request, context) -> User``."""

_JSON = "application/json"


def rpc_endpoint(
    binding: Binding,
    handler: Handler,
    grpc_path: str,
    container: AsyncContainer,
    log: logging.Logger,
    *,
    outages: Outages | None = None,
) -> Endpoint:
    """The endpoint of one binding: transcode, call the implementation, write the reply.

    Every failure becomes an answer here, so middlewares always see a response;
    ``outages`` tells a plugin's outage (503) from a bug (500).
    The context's request scope (``context.get``) opens only if the
    implementation asks for a request-scoped dependency, and closes with the call.
    """
    reads_body = binding.reads_body
    build = binding.request
    render = binding.response
    context_type = method_context_type(HttpRequestContext, grpc_path, container)

    async def endpoint(request: Request) -> Response:
        asgi = request.scope
        # The peer is read from the request when asked for (see HttpRequestContext).
        context = new_method_context(context_type, request, None)
        try:
            body = await _body_of(request) if reads_body else b""
            message = build(body, asgi["path_params"], asgi["query_string"])
            content = render(await handler(message, context))
        except Exception as error:  # noqa: BLE001 - every error becomes an answer
            return error_response(error, log, grpc_path, outages)
        finally:
            scope = context.lazy_scope
            if scope is not None and scope.opened:
                await _close(scope, log, grpc_path)
        return _JsonReply(content)

    return endpoint


class _JsonReply(Response):
    """A 200 JSON answer with its two headers written directly.

    The same response Starlette's ``Response(content, media_type=...)`` builds,
    without re-deciding per request which headers it needs.
    """

    media_type = _JSON

    # Response.__init__ is not called: it would re-derive the headers set here.
    def __init__(self, body: bytes) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]


class HttpRequestContext(LazyRequestContext):
    """The context of an HTTP call: headers and peer read from the request when first asked for.

    ``raw`` is the Starlette ``Request``; ``method`` the gRPC path of the
    method the route calls.
    """

    __slots__ = ()

    transport = "http"  # a constant in place of the field

    def _read_metadata(self) -> dict[str, str]:
        # Lower-cased as RequestContext promises, whatever the ASGI server sent.
        return metadata_of([(name.lower(), value) for name, value in self.raw.scope["headers"]])

    @property
    def peer(self) -> str | None:
        return peer_of(self.raw.scope.get("client"))


async def _body_of(request: Request) -> bytes:
    """``await request.body()``, reading a body sent in one message straight from ``receive``.

    Starlette's ``body()`` goes through an async generator even for the single
    message most bodies arrive in. A request a middleware replaced, read or
    streamed already takes Starlette's way, as does a body in several messages.
    """
    if (
        type(request) is not Request
        or "_body" in request.__dict__
        or request.__dict__.get("_stream_consumed", True)
    ):
        return await request.body()
    message = await request.receive()
    if message["type"] != "http.request" or message.get("more_body", False):
        chunks = [message.get("body", b"")] if message["type"] == "http.request" else []
        while message["type"] == "http.request" and message.get("more_body", False):
            message = await request.receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        body = b"".join(chunks)
    else:
        body = message.get("body", b"")
    # Where Starlette keeps a body it has read, so body() and stream() give it again.
    request._body = body  # noqa: SLF001
    return body


async def _close(scope: RequestScope, log: logging.Logger, grpc_path: str) -> None:
    try:
        await scope.close()
    except Exception:
        # The answer is made; a failing finalizer is the service's bug to log, not the caller's.
        log.exception("closing the request scope of %s failed", grpc_path)


def error_endpoint(error: StatusError) -> Endpoint:
    """An endpoint that always answers ``error`` (methods HTTP cannot serve)."""

    async def endpoint(request: Request) -> Response:
        del request
        return json_error(error.http_status, str(error))

    return endpoint


def as_async(function: Callable[..., Any]) -> Handler:
    """Accept plain implementation methods too (an ``async def`` is used as it is)."""
    if inspect.iscoroutinefunction(function):
        return function

    async def call(message: Any, context: RequestContext) -> Message:
        result = function(message, context)
        if inspect.isawaitable(result):
            result = await result
        reply: Message = result
        return reply

    return call


def metadata_of(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """HTTP headers as gRPC-style metadata; repeated headers are joined with ``", "``."""
    metadata = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers}
    if len(metadata) != len(headers):
        metadata = {}
        for raw_name, raw_value in headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            metadata[name] = f"{metadata[name]}, {value}" if name in metadata else value
    return metadata


def peer_of(client: tuple[str, int] | None) -> str | None:
    """The caller's address written as gRPC writes peers (``ipv4:10.0.0.1:5123``)."""
    if client is None:
        return None
    host, port = client
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"
