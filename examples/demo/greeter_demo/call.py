"""Call the demo over gRPC: ``python -m greeter_demo.call HOST:PORT NAME``."""

from __future__ import annotations

import asyncio
import sys

import grpc

from greeter_demo.gen import greeter_pb2


async def call(target: str, name: str) -> greeter_pb2.SayHelloResponse:
    async with grpc.aio.insecure_channel(target) as channel:
        say_hello = channel.unary_unary(
            "/demo.v1.Greeter/SayHello",
            request_serializer=greeter_pb2.SayHelloRequest.SerializeToString,
            response_deserializer=greeter_pb2.SayHelloResponse.FromString,
        )
        reply: greeter_pb2.SayHelloResponse = await say_hello(
            greeter_pb2.SayHelloRequest(name=name), timeout=5
        )
    return reply


if __name__ == "__main__":
    reply = asyncio.run(call(sys.argv[1], sys.argv[2]))
    print(f"{reply.message} (visits: {reply.visits})")
