"""``GrpcChannel`` against a real ``grpc.aio`` server on a free local port."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio
import pytest
from google.protobuf import wrappers_pb2

from lbtoolkit.client import GrpcChannel

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator

Text = wrappers_pb2.StringValue


async def echo(request: Text, context: grpc.aio.ServicerContext[Any, Any]) -> Text:
    if request.value == "slow":
        await asyncio.sleep(2)
    caller = next((v for k, v in context.invocation_metadata() or () if k == "x-caller"), "")
    return Text(value=f"{request.value} {caller!s}".strip())


async def repeat(request: Text, context: object) -> AsyncIterator[Text]:
    for index in range(3):
        yield Text(value=f"{request.value}{index}")


async def join(requests: AsyncIterable[Text], context: object) -> Text:
    return Text(value="+".join([r.value async for r in requests]))


async def upper(requests: AsyncIterable[Text], context: object) -> AsyncIterator[Text]:
    async for request in requests:
        yield Text(value=request.value.upper())


def handlers() -> grpc.GenericRpcHandler:
    codec: dict[str, Any] = {
        "request_deserializer": Text.FromString,
        "response_serializer": Text.SerializeToString,
    }
    return grpc.method_handlers_generic_handler(
        "test.Echo",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(echo, **codec),
            "Repeat": grpc.unary_stream_rpc_method_handler(repeat, **codec),
            "Join": grpc.stream_unary_rpc_method_handler(join, **codec),
            "Upper": grpc.stream_stream_rpc_method_handler(upper, **codec),
        },
    )


@pytest.fixture
async def channel() -> AsyncIterator[GrpcChannel]:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handlers(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = GrpcChannel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        await channel.close()
        await server.stop(None)


async def requests(*values: str) -> AsyncIterator[Text]:
    for value in values:
        yield Text(value=value)


async def test_unary_unary_with_metadata(channel: GrpcChannel) -> None:
    reply = await channel.unary_unary(
        "/test.Echo/Echo", Text(value="hi"), Text, metadata={"X-Caller": "tests"}
    )
    assert reply == Text(value="hi tests")


async def test_unary_stream(channel: GrpcChannel) -> None:
    replies = [
        r.value async for r in channel.unary_stream("/test.Echo/Repeat", Text(value="n"), Text)
    ]
    assert replies == ["n0", "n1", "n2"]


async def test_stream_unary(channel: GrpcChannel) -> None:
    reply = await channel.stream_unary("/test.Echo/Join", requests("a", "b", "c"), Text)
    assert reply.value == "a+b+c"


async def test_stream_stream(channel: GrpcChannel) -> None:
    replies = channel.stream_stream("/test.Echo/Upper", requests("x", "y"), Text)
    assert [r.value async for r in replies] == ["X", "Y"]


async def test_rpc_timeout_is_the_deadline(channel: GrpcChannel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await channel.unary_unary("/test.Echo/Echo", Text(value="slow"), Text, rpc_timeout=0.05)
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED


async def test_close_then_reopen(channel: GrpcChannel) -> None:
    await channel.unary_unary("/test.Echo/Echo", Text(value="a"), Text)
    await channel.close()
    reply = await channel.unary_unary("/test.Echo/Echo", Text(value="b"), Text)
    assert reply.value == "b"
