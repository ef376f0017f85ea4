"""Endpoints that call an RPC implementation, and the request context they pass it."""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import Response

from lbtoolkit._shortcuts._starlette import JsonReply, read_body
from lbtoolkit.client import bind_incoming_call
from lbtoolkit.errors import InvalidArgument, StatusError
from lbtoolkit.server._context import CallSite, RequestContext, close_request_scope
from lbtoolkit.server._validation import request_check
from lbtoolkit.server.http._responses import error_response, json_error

if TYPE_CHECKING:
    import logging

    from dishka import AsyncContainer

    from lbtoolkit.server.http._middleware import Endpoint
    from lbtoolkit.server.http._transcode import Binding
    from lbtoolkit.tools import Outages

__all__ = [
    "Handler",
    "HttpCall",
    "as_async",
    "error_endpoint",
    "grpc_timeout",
    "metadata_of",
    "peer_of",
    "rpc_endpoint",
]

_TIMEOUT_UNITS: Final = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
# gRPC's wire format: at most eight digits, then the unit.
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")

Handler = Callable[[Any, RequestContext], Awaitable[Message]]
"""An implementation method: ``async def get_user(self, request, context) -> User``."""


def rpc_endpoint(
    binding: Binding,
    handler: Handler,
    grpc_path: str,
    container: AsyncContainer,
    log: logging.Logger,
    *,
    outages: Outages | None = None,
    validation: bool = True,
) -> Endpoint:
    """The endpoint of one binding: transcode, call the implementation, write the reply.

    Every failure becomes an answer here, so middlewares always see a response;
    ``outages`` tells a plugin's outage (503) from a bug (500).
    The context's request scope (``context.get``) opens only if the
    implementation asks for a request-scoped dependency, and closes with the call.
    With ``validation``, the transcoded request is checked against its rules
    before the implementation runs (a violation answers 400).
    """
    check = request_check(binding.request_codec.message_class, enabled=validation)
    reads_body = binding.reads_body
    build = binding.request
    render = binding.response
    site = CallSite(grpc_path, "http", container, _metadata_of_request, _peer_of_request)

    async def endpoint(request: Request) -> Response:
        asgi = request.scope
        context = site.context(request)
        # Client calls the implementation makes carry this request's deadline and headers.
        bind_incoming_call(HttpCall(asgi["headers"]))
        try:
            body = await read_body(request) if reads_body else b""
            message = build(body, asgi["path_params"], asgi["query_string"])
            if check is not None:
                check(message)
            content = render(await handler(message, context))
        except Exception as error:  # noqa: BLE001 - every error becomes an answer
            return error_response(error, log, grpc_path, outages)
        finally:
            if context.scope_opened:
                await close_request_scope(context, log)
        return JsonReply(content)

    return endpoint


class HttpCall:
    """An HTTP request as the client sees the call it serves (``lbtoolkit.client.IncomingCall``).

    Its deadline is the ``grpc-timeout`` header, as grpc-gateway reads it,
    counted from the request's arrival; its metadata are the headers.
    """

    __slots__ = ("_arrived", "_headers")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self._headers = headers
        self._arrived = time.monotonic()

    def time_remaining(self) -> float | None:
        for name, value in self._headers:
            if name.lower() == b"grpc-timeout":
                try:
                    timeout = grpc_timeout(value.decode("latin-1"))
                except StatusError:
                    return None  # not gRPC's format: no deadline, as for a missing header
                if timeout is None:
                    return None
                return max(0.0, timeout - (time.monotonic() - self._arrived))
        return None

    def invocation_metadata(self) -> Iterable[tuple[str, str]]:
        return metadata_of([(name.lower(), value) for name, value in self._headers]).items()


def grpc_timeout(value: str | None) -> float | None:
    """Seconds of a ``grpc-timeout`` header (``100m``, ``5S``), or ``None`` without one.

    Raises ``InvalidArgument`` naming the header for a value outside gRPC's format.
    """
    if value is None:
        return None
    found = _TIMEOUT.fullmatch(value.strip())
    if found is None:
        msg = (
            f'invalid header "grpc-timeout": {value!r} is not up to 8 digits followed by '
            "a unit (H, M, S, m, u, n)"
        )
        raise InvalidArgument(msg)
    return int(found[1]) * _TIMEOUT_UNITS[found[2]]


def _metadata_of_request(request: Request) -> dict[str, str]:
    # Lower-cased as RequestContext promises, whatever the ASGI server sent.
    return metadata_of([(name.lower(), value) for name, value in request.scope["headers"]])


def _peer_of_request(request: Request) -> str | None:
    return peer_of(request.scope.get("client"))


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
