"""The users example: fresh generated code, the cache's graceful degradation, and the real thing."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import grpc
import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from websockets.asyncio.client import connect

from lbtoolkit.plugins import rabbitmq
from lbtoolkit.plugins.redis._config import Address
from lbtoolkit.testing import open_plugin, open_service
from tests.examples.examples_support import (
    EXAMPLES,
    delete_broker_objects,
    redis_target,
    scratch_database,
    stale_generated_files,
    unique,
    users_environ,
)
from tests.support.servers import PrivateRedis
from users_service.cache import UserCache
from users_service.call import call
from users_service.gen import users_pb2
from users_service.gen.users_toolkit_mocks import mock_cache_plugin
from users_service.realtime import RealtimeEndpoint
from users_service.service import DEFAULTS, Users, build
from users_service.store import UserRecord, UserStore

USERS = EXAMPLES / "users"


def test_checked_in_generated_code_is_fresh(tmp_path: Path) -> None:
    # Regenerate with: lbtoolkit generate -I examples/users/protos
    #   -o examples/users/users_service/gen examples/users/protos/users.proto
    stale = stale_generated_files(
        [USERS / "protos" / "users.proto"],
        [USERS / "protos"],
        USERS / "users_service" / "gen",
        tmp_path / "gen",
    )
    assert stale == []


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ({"USERS_CACHE_HOST": "cache.internal"}, Address("cache.internal", 6379)),
        (
            {"USERS_CACHE_HOST": "cache.internal", "USERS_CACHE_PORT": "6380"},
            Address("cache.internal", 6380),
        ),
        ({"USERS_CACHE_ADDR": "cache.internal:6381"}, Address("cache.internal", 6381)),
        ({}, Address("127.0.0.1", 6379)),
    ],
)
def test_the_cache_is_pointed_elsewhere_by_either_spelling_over_the_local_defaults(
    given: dict[str, str], address: Address
) -> None:
    # What ``python -m users_service`` builds: the process's variables over DEFAULTS.
    app = build(environ={**DEFAULTS, **given}, argv=[])
    assert app.runtime.config.issues == []
    assert redis_target(app, "cache").addresses == (address,)


def _users(store: Any, cache: UserCache) -> Users:
    metrics = mock.NonCallableMagicMock()
    return Users(store, cache, mock.AsyncMock(), mock.create_autospec(RealtimeEndpoint), metrics)


async def test_get_user_reads_the_database_while_the_cache_is_down() -> None:
    cache_plugin = mock_cache_plugin()
    redis_client = cache_plugin.client.return_value
    redis_client.get = mock.AsyncMock(side_effect=RedisConnectionError("refused"))
    redis_client.set = mock.AsyncMock(side_effect=RedisConnectionError("refused"))
    store = mock.create_autospec(UserStore, instance=True)
    user_id = str(uuid.uuid4())
    store.get.return_value = UserRecord(user_id, "ada@example.com", "Ada", _now())

    user = await _users(store, UserCache(cache_plugin)).get_user(
        users_pb2.GetUserRequest(id=user_id), mock.Mock()
    )

    assert (user.id, user.email, user.name) == (user_id, "ada@example.com", "Ada")
    store.get.assert_awaited_once_with(user_id)


async def test_get_user_answers_from_the_cache_without_the_database() -> None:
    cache_plugin = mock_cache_plugin()
    cached = users_pb2.User(id=str(uuid.uuid4()), email="bo@example.com", name="Bo")
    cache_plugin.client.return_value.get = mock.AsyncMock(return_value=cached.SerializeToString())
    store = mock.create_autospec(UserStore, instance=True)

    user = await _users(store, UserCache(cache_plugin)).get_user(
        users_pb2.GetUserRequest(id=cached.id), mock.Mock()
    )

    assert user == cached
    store.get.assert_not_called()


def _now() -> Any:
    from datetime import UTC, datetime  # noqa: PLC0415

    return datetime.now(UTC)


@pytest.mark.integration
async def test_users_over_http_and_grpc_with_event_and_stream() -> None:
    name = unique("users")
    consumer = unique("users-test")
    events = rabbitmq.new_test_plugin(environ={"RABBITMQ_HOST": "127.0.0.1"})
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_created(data: bytes) -> None:
        await received.put(data)

    try:
        async with scratch_database() as database, open_plugin(events):
            await events.subscribe(name, "user.created", on_created, queue=consumer)
            async with open_service(
                build(name=name, environ=users_environ(database, name), argv=[])
            ) as app:
                # The realtime node shares the HTTP server's port.
                url = f"ws://127.0.0.1:{app.server.http.port}/connection/websocket"
                async with connect(url) as websocket:
                    await websocket.send(json.dumps({"id": 1, "connect": {}}))
                    await websocket.send(json.dumps({"id": 2, "subscribe": {"channel": "users"}}))
                    replies = [json.loads(await websocket.recv()) for _ in range(2)]
                    base = f"http://127.0.0.1:{app.server.http.port}"
                    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                        created = [
                            (
                                await client.post(
                                    "/v1/users",
                                    json={"email": f"u{i}@example.com", "name": f"U{i}"},
                                )
                            ).json()
                            for i in range(3)
                        ]
                        duplicate = await client.post(
                            "/v1/users", json={"email": "u0@example.com", "name": "X"}
                        )
                        first = (await client.get("/v1/users", params={"pageSize": 2})).json()
                        second = (
                            await client.get(
                                "/v1/users",
                                params={"pageSize": 2, "pageToken": first["nextPageToken"]},
                            )
                        ).json()
                        got = (await client.get(f"/v1/users/{created[0]['id']}")).json()
                        deleted = await client.delete(f"/v1/users/{created[0]['id']}")
                        gone = await client.get(f"/v1/users/{created[0]['id']}")
                    pushed = json.loads(await asyncio.wait_for(websocket.recv(), 5))
                target = f"127.0.0.1:{app.server.grpc.port}"
                over_grpc = await call(
                    target, "GetUser", users_pb2.GetUserRequest(id=created[1]["id"]), users_pb2.User
                )
                with pytest.raises(grpc.aio.AioRpcError) as missing:
                    await call(
                        target,
                        "GetUser",
                        users_pb2.GetUserRequest(id=created[0]["id"]),
                        users_pb2.User,
                    )
            event = json.loads(await asyncio.wait_for(received.get(), 10))
    finally:
        await delete_broker_objects([name], [consumer])

    assert replies[1] == {"id": 2, "subscribe": {}}
    assert pushed["push"] == {
        "channel": "users",
        "pub": {"data": {"id": created[0]["id"], "email": "u0@example.com", "name": "U0"}},
    }
    assert event["id"] == created[0]["id"]
    assert event["email"] == "u0@example.com"
    assert duplicate.status_code == 409
    assert [u["id"] for u in first["users"]] == [u["id"] for u in created[:2]]
    assert [u["id"] for u in second["users"]] == [created[2]["id"]]
    assert second.get("nextPageToken", "") == ""
    assert got == created[0]
    assert deleted.status_code == 200
    assert gone.status_code == 404
    assert isinstance(over_grpc, users_pb2.User)
    assert over_grpc.email == "u1@example.com"
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.integration
async def test_a_cache_outage_shows_in_readiness_but_fails_neither_it_nor_get_user() -> None:
    name = unique("users")
    with PrivateRedis() as redis:
        environ = users_environ("", name, USERS_CACHE_ADDR=redis.addr)
        try:
            async with scratch_database() as database:
                environ["USERS_DB_DATABASE"] = database
                async with open_service(build(name=name, environ=environ, argv=[])) as app:
                    base = f"http://127.0.0.1:{app.server.http.port}"
                    probes = f"http://127.0.0.1:{app.server.probes.port}"  # type: ignore[union-attr]
                    async with httpx.AsyncClient(timeout=10) as client:
                        user = (
                            await client.post(
                                f"{base}/v1/users", json={"email": "c@example.com", "name": "C"}
                            )
                        ).json()
                        redis.stop()
                        answer = await client.get(f"{base}/v1/users/{user['id']}")
                        readiness = await client.get(f"{probes}/_healthz/readiness")
        finally:
            await delete_broker_objects([name], [])

    assert answer.status_code == 200
    assert answer.json() == user
    # USERS_CACHE_REQUIRED=false: the replica stays in rotation, the outage is reported.
    assert readiness.status_code == 200
    assert readiness.json()["cache"].startswith("degraded: ")
    assert readiness.json()["db"] == "ok"
