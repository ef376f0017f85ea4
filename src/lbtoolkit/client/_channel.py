"""A typed channel: the four gRPC call shapes with protobuf messages in and out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import grpc.aio
from google.protobuf.message import Message

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

__all__ = ["Channel", "GrpcChannel"]

ResponseT = TypeVar("ResponseT", bound=Message)
_Metadata = tuple[tuple[str, str], ...]


class Channel(Protocol):
    """Calls methods of one remote service; generated clients sit on top.

    ``method`` is the full gRPC path (``/package.Service/Method``),
    ``rpc_timeout`` the seconds the call may take (sent as the gRPC deadline,
    so the server stops working on it too), ``metadata`` extra headers.
    """

    async def unary_unary(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT: ...

    def unary_stream(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]: ...

    async def stream_unary(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT: ...

    def stream_stream(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]: ...

    async def close(self) -> None: ...


class GrpcChannel:
    """A ``Channel`` over ``grpc.aio``; the connection opens on the first call.

    Each method's multicallable is built once and kept: grpc.aio's are
    reusable, and building one per call was work on every request.
    """

    def __init__(self, target: str, *, channel: grpc.aio.Channel | None = None) -> None:
        self.target = target
        self._channel = channel
        self._calls: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"GrpcChannel({self.target!r})"

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.target)
        return self._channel

    def _call(self, shape: str, method: str, response_type: type[Message]) -> Any:
        # A gRPC path names one method, so one shape and one response type.
        call = self._calls.get(method)
        if call is None:
            build = getattr(self.channel, shape)
            call = self._calls[method] = build(
                method,
                request_serializer=_serialize,
                response_deserializer=response_type.FromString,
            )
        return call

    async def unary_unary(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT:
        call = self._call("unary_unary", method, response_type)
        response: ResponseT = await call(request, timeout=rpc_timeout, metadata=_pairs(metadata))
        return response

    async def unary_stream(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]:
        call = self._call("unary_stream", method, response_type)
        async for response in call(request, timeout=rpc_timeout, metadata=_pairs(metadata)):
            yield response

    async def stream_unary(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT:
        call = self._call("stream_unary", method, response_type)
        response: ResponseT = await call(requests, timeout=rpc_timeout, metadata=_pairs(metadata))
        return response

    async def stream_stream(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]:
        call = self._call("stream_stream", method, response_type)
        async for response in call(requests, timeout=rpc_timeout, metadata=_pairs(metadata)):
            yield response

    async def close(self) -> None:
        self._calls.clear()
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _pairs(metadata: Mapping[str, str] | None) -> _Metadata | None:
    # gRPC metadata keys must be lower-case.
    if not metadata:
        return None
    return tuple((key.lower(), value) for key, value in metadata.items())
