"""Calls that another service answers: ``http_proxy`` and ``websocket_proxy`` methods.

A proxied method is sent to ``ProxyTarget.method`` of ``ProxyTarget.service``
through the runtime's channel pool, in the method's own shape (unary,
server-, client- or bidirectional streaming), so its address comes from
``{PREFIX}_CLIENT_{SERVICE}_TARGET`` like any client call. The caller's
headers travel as gRPC metadata, minus those that describe the incoming
connection rather than the call; the caller's deadline (its ``grpc-timeout``)
becomes the upstream call's. The request is checked against its validation
rules before it leaves, so an invalid one costs no upstream call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.server._validation import request_check

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Mapping

    from google.protobuf.message import Message

    from lbtoolkit.client import ChannelPool
    from lbtoolkit.spec import MethodSpec

__all__ = ["NOT_FORWARDED", "ProxyCall", "forwarded_metadata"]

NOT_FORWARDED = frozenset(
    {
        # Hop-by-hop headers (RFC 9110 section 7.6.1): they belong to one connection.
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        # The WebSocket handshake's own headers.
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
        # They describe the HTTP message; gRPC sets its own and refuses or overrides ours.
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "accept-encoding",
        "user-agent",
    }
)
"""Header names never sent upstream as metadata."""


def forwarded_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of an incoming request that go upstream as gRPC metadata.

    Keys are lower-cased. Left out: :data:`NOT_FORWARDED`, pseudo-headers,
    ``grpc-*`` (reserved by gRPC) and ``*-bin`` (binary in gRPC, text here).
    """
    forwarded: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if (
            key in NOT_FORWARDED
            or key.startswith((":", "grpc-"))
            or key.endswith("-bin")
            or not value.isprintable()
        ):
            continue
        forwarded[key] = value
    return forwarded


class ProxyCall:
    """One proxied method: its requests go to the target service's method.

    gRPC failures of the remote call are raised as ``grpc.aio.AioRpcError``;
    each transport maps them to its own answer as it does for local calls.
    """

    __slots__ = ("_channels", "_response_type", "check", "method", "service", "shape")

    def __init__(
        self, method: MethodSpec, channels: ChannelPool, *, validation: bool = True
    ) -> None:
        target = method.http_proxy or method.websocket_proxy
        if target is None:
            msg = f"method {method.grpc_path} is not proxied"
            raise ValueError(msg)
        self.service = target.service
        self.method = target.method
        self._response_type = method.response_type
        # The gRPC call shape the target is reached with, the proxied method's own.
        self.shape = (method.client_streaming, method.server_streaming)
        self._channels = channels
        # Each request's validation (None when off); streaming callers run it per request.
        self.check = request_check(method.request_type, enabled=validation)

    def __repr__(self) -> str:
        return f"ProxyCall({self.service!r}, {self.method!r})"

    async def __call__(
        self, request: Message, headers: Mapping[str, str], rpc_timeout: float | None = None
    ) -> Message:
        """Send ``request`` upstream with ``headers`` as metadata; return the reply.

        ``rpc_timeout`` (seconds) is the upstream call's deadline. Raises
        ``InvalidArgument`` for a request that breaks its rules, unsent.
        """
        if self.check is not None:
            self.check(request)
        channel = self._channels.channel(self.service)
        return await channel.unary_unary(
            self.method,
            request,
            self._response_type,
            rpc_timeout=rpc_timeout,
            metadata=forwarded_metadata(headers),
        )

    def stream(
        self, request: Message, headers: Mapping[str, str], rpc_timeout: float | None = None
    ) -> AsyncIterator[Message]:
        """Call a server-streaming target: its replies, as they come.

        The request is checked before the call starts (``InvalidArgument``,
        raised here, unsent).
        """
        if self.check is not None:
            self.check(request)
        channel = self._channels.channel(self.service)
        return channel.unary_stream(
            self.method,
            request,
            self._response_type,
            rpc_timeout=rpc_timeout,
            metadata=forwarded_metadata(headers),
        )

    def exchange(
        self, requests: AsyncIterator[Message], headers: Mapping[str, str]
    ) -> AsyncIterator[Message]:
        """Call a client- or bidirectional-streaming target with ``requests``: its replies.

        The caller checks each request with :attr:`check` before it goes in:
        gRPC reads ``requests`` in a task of its own, where an error would not
        end the call. A client-streaming target's single reply is the only item.
        """
        channel = self._channels.channel(self.service)
        metadata = forwarded_metadata(headers)
        if self.shape[1]:
            return channel.stream_stream(
                self.method, requests, self._response_type, metadata=metadata
            )
        return _single(
            channel.stream_unary(self.method, requests, self._response_type, metadata=metadata)
        )


async def _single(reply: Awaitable[Message]) -> AsyncIterator[Message]:
    yield await reply
