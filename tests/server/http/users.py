"""An implementation of ``httptest.users.Users`` that records every request it gets."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from lbtoolkit import errors
from lbtoolkit.server import RequestContext

STATUS_ERRORS: dict[str, type[errors.StatusError]] = {
    cls.code.name: cls
    for cls in (getattr(errors, name) for name in errors.__all__)
    if isinstance(cls, type)
    and issubclass(cls, errors.StatusError)
    and cls is not errors.StatusError
}


class UsersService:
    """Answers from what it was asked, so that two transports can be compared."""

    def __init__(self, pb: ModuleType) -> None:
        self.pb = pb
        self.received: list[tuple[str, Any, RequestContext]] = []

    def _user(self, user_id: int, name: str = "") -> Any:
        pb = self.pb
        return pb.User(
            id=user_id,
            name=name or f"users/{user_id}",
            display_name=f"User {user_id}",
            role=pb.ROLE_ADMIN,
            tags=["a", "b"],
            labels={"team": "core"},
            created_at=Timestamp(seconds=1_700_000_000, nanos=5000),
            avatar=b"\x00\xffhi",
            address=pb.Address(city="Oslo", zip_code="0150"),
            score=0.5,
        )

    async def get_user(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("GetUser", request, context))
        user = self._user(request.id, request.name)
        user.email = ",".join(request.read_mask.paths)
        return user

    async def list_users(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("ListUsers", request, context))
        users = [self._user(i) for i in request.ids]
        for user, role in zip(users, request.roles, strict=False):
            user.role = role
        for user in users:
            user.labels.update(request.labels)
            user.address.city = request.filter.city
            user.created_at.CopyFrom(request.since)
            user.score = request.min_score
        token = f"{request.page_token}|{request.filter.age.min}-{request.filter.age.max}"
        token += f"|{request.min_id.value}|{request.include_deleted}|{request.cursor.hex()}"
        return self.pb.ListUsersResponse(
            users=users, next_page_token=token, total=request.page_size
        )

    async def search_users(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("SearchUsers", request, context))
        response = await self.list_users(request, context)
        self.received.pop()
        return response

    async def create_user(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("CreateUser", request, context))
        user = self.pb.User()
        user.CopyFrom(request.user)
        user.name = f"{request.parent}/users/{request.user.id}"
        return user

    async def update_user(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("UpdateUser", request, context))
        user = self._user(request.user.id)
        user.MergeFrom(request.user)
        user.email = ",".join(request.update_mask.paths)
        return user

    async def delete_user(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("DeleteUser", request, context))
        from google.protobuf.empty_pb2 import Empty  # noqa: PLC0415 - only this method needs it

        return Empty()

    async def fail(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("Fail", request, context))
        if request.code == "CRASH":
            msg = "secret detail that must not leak"
            raise RuntimeError(msg)
        if request.code == "REMOTE":
            metadata = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.NOT_FOUND, metadata, metadata, details=request.message
            )
        if request.code == "ABORT":
            raise grpc.aio.AbortError(request.message)
        raise STATUS_ERRORS[request.code](request.message)

    async def sleep(self, request: Any, context: RequestContext) -> Any:
        self.received.append(("Sleep", request, context))
        await asyncio.sleep(request.millis / 1000)
        return self.pb.SleepResponse(slept=request.millis)

    async def watch(self, request: Any, context: RequestContext) -> Any:
        raise NotImplementedError
