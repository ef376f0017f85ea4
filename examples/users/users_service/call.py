"""Call the users example over gRPC: ``python -m users_service.call HOST:PORT get|create|list ...``.

``create EMAIL NAME``, ``get ID``, ``list [PAGE_SIZE]``; prints the answer as JSON.
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from users_service.gen import users_pb2

_SERVICE = "/users_example.v1.Users/"


async def call(target: str, method: str, request: Message, reply: type[Message]) -> Message:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = channel.unary_unary(
            _SERVICE + method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=reply.FromString,
        )
        answer: Message = await stub(request, timeout=5)
    return answer


def _request(command: str, args: list[str]) -> tuple[str, Message, type[Message]]:
    if command == "create" and len(args) == 2:  # noqa: PLR2004 - EMAIL NAME
        return (
            "CreateUser",
            users_pb2.CreateUserRequest(email=args[0], name=args[1]),
            users_pb2.User,
        )
    if command == "get" and len(args) == 1:
        return "GetUser", users_pb2.GetUserRequest(id=args[0]), users_pb2.User
    if command == "list" and len(args) <= 1:
        size = int(args[0]) if args else 0
        return "ListUsers", users_pb2.ListUsersRequest(page_size=size), users_pb2.ListUsersResponse
    raise SystemExit(__doc__)


if __name__ == "__main__":
    if len(sys.argv) < 3:  # noqa: PLR2004 - TARGET COMMAND
        raise SystemExit(__doc__)
    method, message, reply_type = _request(sys.argv[2], sys.argv[3:])
    try:
        answer = asyncio.run(call(sys.argv[1], method, message, reply_type))
    except grpc.aio.AioRpcError as error:
        raise SystemExit(f"{error.code().name}: {error.details()}") from None
    print(json_format.MessageToJson(answer))
