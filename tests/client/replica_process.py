"""A replica of ``lbclient.test.Replica`` in a process of its own, serving until killed."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import grpc
import grpc.aio
from google.protobuf import wrappers_pb2

Text = wrappers_pb2.StringValue


async def main(name: str) -> None:
    async def answer(request: Text, context: grpc.aio.ServicerContext[Any, Any]) -> Text:
        return Text(value=name)

    codec: dict[str, Any] = {
        "request_deserializer": Text.FromString,
        "response_serializer": Text.SerializeToString,
    }
    handler = grpc.method_handlers_generic_handler(
        "lbclient.test.Replica",
        {
            "Who": grpc.unary_unary_rpc_method_handler(answer, **codec),
            "Write": grpc.unary_unary_rpc_method_handler(answer, **codec),
        },
    )
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    server.add_generic_rpc_handlers((handler,))
    await server.start()
    print(port, flush=True)  # noqa: T201 - the parent reads the port from stdout
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
