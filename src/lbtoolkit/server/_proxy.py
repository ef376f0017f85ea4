"""Calls that another service answers: ``http_proxy`` and ``websocket_proxy`` methods.

A proxied method is sent, unary, to ``ProxyTarget.method`` of
``ProxyTarget.service`` through the runtime's channel pool, so its address
comes from ``{PREFIX}_CLIENT_{SERVICE}_TARGET`` like any client call. The
caller's headers travel as gRPC metadata, minus those that describe the
incoming connection rather than the call. The request is checked against its
validation rules before it leaves, so an invalid one costs no upstream call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.server._validation import request_check

if TYPE_CHECKING:
    from collections.abc import Mapping

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
    """One proxied method: its request goes to the target service's method, unary.

    gRPC failures of the remote call are raised as ``grpc.aio.AioRpcError``;
    each transport maps them to its own answer as it does for local calls.
    """

    __slots__ = ("_channels", "_check", "_response_type", "method", "service")

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
        self._channels = channels
        self._check = request_check(enabled=validation)

    def __repr__(self) -> str:
        return f"ProxyCall({self.service!r}, {self.method!r})"

    async def __call__(self, request: Message, headers: Mapping[str, str]) -> Message:
        """Send ``request`` upstream with ``headers`` as metadata; return the reply.

        Raises ``InvalidArgument`` for a request that breaks its rules, unsent.
        """
        if self._check is not None:
            self._check(request)
        channel = self._channels.channel(self.service)
        return await channel.unary_unary(
            self.method, request, self._response_type, metadata=forwarded_metadata(headers)
        )
