"""The users example: accounts over gRPC and HTTP.

PostgreSQL (postgres_gorm) keeps them, Redis caches ``GetUser`` (and may be
down: the database answers then), RabbitMQ carries ``user.created`` to other
services, the centrifuge plugin streams new users to browsers (on the HTTP
port, at /connection/websocket), and the Sentry and Prometheus plugins watch
it all. ``python -m users_service help --all``
(from ``examples/users``) lists every variable it reads.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

import lbtoolkit
from lbtoolkit.errors import AlreadyExists, InvalidArgument, NotFound
from lbtoolkit.server import RequestContext
from users_service.cache import UserCache
from users_service.gen import users_pb2
from users_service.gen.users_toolkit import (
    DbPlugin,
    EventsPlugin,
    MetricsPlugin,
    new_users_service,
    register_users_rpc_server,
)
from users_service.realtime import PATH, RealtimeEndpoint, mount_realtime
from users_service.store import (
    DuplicateEmailError,
    InvalidPageTokenError,
    UserRecord,
    UserStore,
)

__all__ = [
    "DEFAULTS",
    "ENV_PREFIX",
    "MIGRATIONS",
    "USER_CREATED",
    "Users",
    "build",
    "main",
    "parse_user_id",
]

ENV_PREFIX = "USERS"
USER_CREATED = "user.created"
"""The event published after each ``CreateUser``: the new ``User`` as protobuf JSON."""
DEFAULT_PAGE_SIZE = 20
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# What the example runs with on a developer's machine: loopback, the local
# servers, ports clear of the notifier's. A deployment sets its own. Redis is
# left to the plugin's own default (127.0.0.1:6379): an ADDR filled in here
# would conflict with USERS_CACHE_HOST/PORT set by the user.
DEFAULTS = {
    "USERS_USERS_GRPC_SERVER_LISTEN": "127.0.0.1",
    "USERS_USERS_GRPC_SERVER_PORT": "9090",
    "USERS_USERS_SERVER_LISTEN": "127.0.0.1",
    "USERS_USERS_SERVER_PORT": "8080",
    "USERS_PROBES_SERVER_LISTEN": "127.0.0.1",
    "USERS_PROBES_SERVER_PORT": "8081",
    "USERS_DB_HOST": "127.0.0.1",
    "USERS_DB_USERNAME": "postgres",
    "USERS_DB_DATABASE": "test",
    "USERS_DB_MIGRATIONS_DIR": str(MIGRATIONS),
    "USERS_EVENTS_HOST": "127.0.0.1",
}


def parse_user_id(user_id: str) -> str:
    """``user_id`` in canonical form; ``InvalidArgument`` unless it is a UUID."""
    # The .proto file's rule says the same; this guards the query until rules run at request time.
    try:
        return str(uuid.UUID(user_id))
    except ValueError:
        raise InvalidArgument(f"id must be a UUID, got {user_id!r}") from None


def _message(record: UserRecord) -> users_pb2.User:
    created = Timestamp()
    created.FromDatetime(record.created_at)
    return users_pb2.User(id=record.id, email=record.email, name=record.name, created_at=created)


class Users:
    """The ``UsersRpcServer``: one implementation for gRPC and HTTP."""

    def __init__(
        self,
        store: UserStore,
        cache: UserCache,
        events: EventsPlugin,
        realtime: RealtimeEndpoint,
        metrics: MetricsPlugin,
    ) -> None:
        self._store = store
        self._cache = cache
        self._events = events
        self._realtime = realtime
        self._lookups = metrics.counter(
            "user_lookups", "GetUser calls by where the user came from", ["source"]
        )

    async def create_user(
        self,
        request: users_pb2.CreateUserRequest,
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> users_pb2.User:
        try:
            record = await self._store.create(request.email, request.name)
        except DuplicateEmailError as error:
            raise AlreadyExists(str(error)) from None
        user = _message(record)
        # Announced once stored: a consumer that reads it back finds it.
        await self._events.publish(USER_CREATED, json_format.MessageToJson(user).encode())
        await self._realtime.publish(user)
        await self._cache.put(user)
        return user

    async def get_user(
        self,
        request: users_pb2.GetUserRequest,
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> users_pb2.User:
        user_id = parse_user_id(request.id)
        cached = await self._cache.get(user_id)
        if cached is not None:
            self._lookups.labels(source="cache").inc()
            return cached
        record = await self._store.get(user_id)
        if record is None:
            raise NotFound(f"no user with id {user_id}")
        self._lookups.labels(source="database").inc()
        user = _message(record)
        await self._cache.put(user)
        return user

    async def list_users(
        self,
        request: users_pb2.ListUsersRequest,
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> users_pb2.ListUsersResponse:
        if not 0 <= request.page_size <= 100:  # noqa: PLR2004 - the .proto file's rule
            raise InvalidArgument(f"page_size must be 0 to 100, got {request.page_size}")
        try:
            page = await self._store.list(
                request.page_size or DEFAULT_PAGE_SIZE, request.page_token
            )
        except InvalidPageTokenError as error:
            raise InvalidArgument(str(error)) from None
        return users_pb2.ListUsersResponse(
            users=[_message(r) for r in page.users], next_page_token=page.next_page_token
        )

    async def delete_user(
        self,
        request: users_pb2.DeleteUserRequest,
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> users_pb2.DeleteUserResponse:
        user_id = parse_user_id(request.id)
        if not await self._store.delete(user_id):
            raise NotFound(f"no user with id {user_id}")
        await self._cache.drop(user_id)
        return users_pb2.DeleteUserResponse()


async def migrate(db: DbPlugin) -> None:
    """Bring ``example_users`` up to date (runs after the plugins' ``pre_start``)."""
    await db.run_migration()


def build(
    *,
    name: str = "users",
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> lbtoolkit.Service:
    """The users example, wired; ``run()`` it, or start it in a test with its own environment.

    ``name`` names the service: its RabbitMQ exchange (``user.created`` is
    published there), its Redis and PostgreSQL connections, its metrics.
    Variables are read under ``USERS_`` whatever the name.
    """
    app = new_users_service(
        name,
        version="0.1.0",
        description="lbtoolkit example: users in PostgreSQL, cached in Redis, announced",
        env_prefix=ENV_PREFIX,
        environ=environ,
        argv=argv,
    )
    app.provide(UserStore)
    app.provide(UserCache)
    app.register_package(RealtimeEndpoint)
    mount_realtime(app)
    app.invoke(migrate)
    register_users_rpc_server(app, Users)
    return app


def main() -> int:
    # The process's own variables win over the example's local defaults.
    app = build(environ={**DEFAULTS, **os.environ})
    app.register_on_start_sync_hook(lambda: _print_addresses(app))
    return app.run()


def _print_addresses(app: lbtoolkit.Service) -> None:
    probes = app.server.probes
    lines = [
        "users is running (Ctrl+C to stop)",
        f"  gRPC    127.0.0.1:{app.server.grpc.port}",
        f"  HTTP    http://127.0.0.1:{app.server.http.port}",
        f"  live    ws://127.0.0.1:{app.server.http.port}{PATH}",
        f"  probes  http://127.0.0.1:{probes.port if probes else '-'}/_healthz/readiness",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
