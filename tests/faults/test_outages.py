"""A dependency goes down under a running service: outage answers, one log line, recovery.

A service with one RPC served over gRPC and HTTP (``GetUser``, ``GET /v1/users/{id}``)
whose implementation uses one plugin per user id runs against private Redis and
PostgreSQL servers. The server is killed by PID: readiness turns false, liveness
stays true, calls answer UNAVAILABLE / 503 with a retry hint, the log carries one
warning per plugin and no traceback. The server then starts again on its port:
readiness turns true and calls succeed, without restarting the service.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import text

import lbtoolkit
from lbtoolkit.plugins import postgres_gorm, postgres_pg, redis
from lbtoolkit.server import RequestContext
from lbtoolkit.spec import ServerKind
from lbtoolkit.testing import open_service
from tests.faults.figures import Figures
from tests.server.http.support import compile_protos, spec_of
from tests.server.http.users import UsersService
from tests.support.servers import LOOPBACK, PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.faults

OUTAGES = "lbtoolkit.outages"
GET_USER = "/httptest.users.Users/GetUser"
WAIT = 20.0  # seconds any state change may take before the test fails
CALLS_PER_ROUTE = 25  # per transport, during the outage
REDIS_USER, PG_USER, ORM_USER = 1, 2, 3
PLUGIN_OF_USER = {REDIS_USER: "cache", PG_USER: "pgsql", ORM_USER: "orm"}
KIND_OF_PLUGIN = {"cache": "redis", "pgsql": "postgres_pg", "orm": "postgres_gorm"}


class PluginUsers(UsersService):
    """``GetUser`` reads through the plugin its id names; everything else as the test service."""

    cache: redis.Plugin | None = None
    pgsql: postgres_pg.Plugin | None = None
    orm: postgres_gorm.Plugin | None = None

    async def get_user(self, request: Any, context: RequestContext) -> Any:
        if request.id == REDIS_USER and self.cache is not None:
            await self.cache.client().get("lbtoolkit-faults-user")
        elif request.id == PG_USER and self.pgsql is not None:
            await self.pgsql.db().fetchval("SELECT 1")
        elif request.id == ORM_USER and self.orm is not None:
            async with self.orm.session() as session:
                await session.execute(text("SELECT 1"))
        return await super().get_user(request, context)


@pytest.fixture(scope="module")
def protos(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    return compile_protos(tmp_path_factory.mktemp("protos"))


@dataclasses.dataclass
class Running:
    """The service under test and how to reach it."""

    app: lbtoolkit.Service
    protos: SimpleNamespace
    http: httpx.AsyncClient
    channel: grpc.aio.Channel

    async def probe(self, kind: str) -> int:
        probes = self.app.server.probes
        assert probes is not None
        port = probes.port
        response = await self.http.get(f"http://{LOOPBACK}:{port}/_healthz/{kind}")
        return response.status_code

    async def over_http(self, user: int) -> httpx.Response:
        return await self.http.get(f"/v1/users/{user}")

    async def over_grpc(self, user: int) -> grpc.aio.AioRpcError | None:
        call: grpc.aio.UnaryUnaryMultiCallable[Any, Any] = self.channel.unary_unary(
            GET_USER,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=self.protos.users.User.FromString,
        )
        try:
            await call(self.protos.users.GetUserRequest(id=user), timeout=WAIT)
        except grpc.aio.AioRpcError as error:
            return error
        return None


@asynccontextmanager
async def running(
    protos: SimpleNamespace,
    environ: Mapping[str, str],
    plugins: Callable[[lbtoolkit.Service, type[PluginUsers]], None],
) -> AsyncIterator[Running]:
    env = {
        "LB_FAULTS_GRPC_SERVER_LISTEN": LOOPBACK,
        "LB_FAULTS_GRPC_SERVER_PORT": "0",
        "LB_FAULTS_SERVER_LISTEN": LOOPBACK,
        "LB_FAULTS_SERVER_PORT": "0",
        "LB_PROBES_SERVER_LISTEN": LOOPBACK,
        "LB_PROBES_SERVER_PORT": "0",
        **environ,
    }
    app = lbtoolkit.new_service("faults", env_prefix="LB", environ=env, argv=[])
    users = type("Users", (PluginUsers,), {})
    plugins(app, users)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    app.server.declare(dataclasses.replace(spec, servers=(ServerKind.GRPC, ServerKind.HTTP)))
    app.provide(lambda: users(protos.users), provides=UsersService)
    async with open_service(app):
        base = f"http://{LOOPBACK}:{app.server.http.port}"
        async with (
            httpx.AsyncClient(base_url=base, timeout=WAIT) as http,
            grpc.aio.insecure_channel(f"{LOOPBACK}:{app.server.grpc.port}") as channel,
        ):
            yield Running(app, protos, http, channel)


def add_plugin(app: lbtoolkit.Service, plugin: object, protocol: object, name: str) -> None:
    """Declare a built plugin to the service, as a generated constructor does."""
    app.runtime.plugin.provide(lambda: plugin, provides=protocol, name=name)


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str) -> float:
    """Seconds until ``condition()`` holds, polled; fail after ``WAIT``."""
    began = time.monotonic()
    while not await condition():
        assert time.monotonic() - began < WAIT, f"{what}: not within {WAIT:g}s"
        await asyncio.sleep(0.01)
    return time.monotonic() - began


async def answers_during_outage(service: Running, users: list[int]) -> Counter[str]:
    """Call each user's route over both transports; every answer is an outage answer."""
    seen: Counter[str] = Counter()
    for _ in range(CALLS_PER_ROUTE):
        for user in users:
            response = await service.over_http(user)
            seen[f"http_{response.status_code}"] += 1
            plugin = PLUGIN_OF_USER[user]
            kind = KIND_OF_PLUGIN[plugin]
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert response.json() == {
                "code": 14,  # UNAVAILABLE
                "message": f'plugin "{plugin}" ({kind}) is unavailable',
                "details": [],
                "status": "Service Unavailable",
            }
            error = await service.over_grpc(user)
            assert error is not None
            seen[f"grpc_{error.code().name}"] += 1
            assert error.code() is grpc.StatusCode.UNAVAILABLE
            assert error.details() == f'plugin "{plugin}" ({kind}) is unavailable'
            assert dict(error.trailing_metadata() or ())["retry-after"] == "5"
    return seen


async def all_succeed(service: Running, users: list[int]) -> None:
    for user in users:
        assert (await service.over_http(user)).status_code == 200
        assert await service.over_grpc(user) is None


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == OUTAGES]


def check_logged_once_per_plugin(
    caplog: pytest.LogCaptureFixture, plugins: list[str], figures: Figures
) -> None:
    """One warning per plugin (a rate-limited summary at most), a recovery line, no traceback."""
    lines = outage_lines(caplog)
    # Client libraries' own one-line warnings (asyncpg retrying its pool's minimum size).
    others = [r for r in caplog.records if r.levelno == logging.WARNING and r.name != OUTAGES]
    figures.record_all({"outage_log_lines": len(lines), "library_warning_lines": len(others)})
    for plugin in plugins:
        label = f'plugin "{plugin}" ({KIND_OF_PLUGIN[plugin]})'
        began = [r for r in lines if r.getMessage().startswith(f"{label} is unavailable: ")]
        still = [r for r in lines if r.getMessage().startswith(f"{label} is still unavailable")]
        back = [r for r in lines if r.getMessage().startswith(f"{label} is available again")]
        assert [r.levelname for r in began] == ["WARNING"]
        assert len(still) <= 1
        assert len(back) == 1
        assert (
            back[0].getMessage().endswith(f"; {2 * CALLS_PER_ROUTE} calls failed during the outage")
        )
    assert [r.getMessage() for r in caplog.records if r.exc_info is not None] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_redis_outage_answers_unavailable_and_recovers(
    protos: SimpleNamespace, caplog: pytest.LogCaptureFixture, figures: Figures
) -> None:
    caplog.set_level(logging.INFO)

    def plugins(app: lbtoolkit.Service, users: type[PluginUsers]) -> None:
        users.cache = redis.new_plugin(app.runtime, redis.Options(name="cache"))
        add_plugin(app, users.cache, redis.Plugin, "cache")

    with PrivateRedis() as server:
        environ = {"LB_CACHE_ADDR": server.addr}
        async with running(protos, environ, plugins) as service:
            await all_succeed(service, [REDIS_USER])
            await asyncio.to_thread(server.kill)
            not_ready = await wait_for(
                lambda: _is(service.probe("readiness"), 503), "readiness false"
            )
            assert await service.probe("liveness") == 200
            seen = await answers_during_outage(service, [REDIS_USER])
            await asyncio.to_thread(server.start)
            ready = await wait_for(lambda: _is(service.probe("readiness"), 200), "readiness true")
            await all_succeed(service, [REDIS_USER])
    figures.record_all({"not_ready_s": not_ready, "ready_again_s": ready, **seen})
    check_logged_once_per_plugin(caplog, ["cache"], figures)


async def test_a_postgres_outage_answers_unavailable_and_recovers(
    protos: SimpleNamespace, caplog: pytest.LogCaptureFixture, figures: Figures
) -> None:
    caplog.set_level(logging.INFO)

    def plugins(app: lbtoolkit.Service, users: type[PluginUsers]) -> None:
        users.pgsql = postgres_pg.new_plugin(app.runtime, postgres_pg.Options(name="pgsql"))
        add_plugin(app, users.pgsql, postgres_pg.Plugin, "pgsql")
        users.orm = postgres_gorm.new_plugin(app.runtime, postgres_gorm.Options(name="orm"))
        add_plugin(app, users.orm, postgres_gorm.Plugin, "orm")

    with PrivatePostgres() as server:
        environ = _postgres_environ(server, "PGSQL") | _postgres_environ(server, "ORM")
        async with running(protos, environ, plugins) as service:
            await all_succeed(service, [PG_USER, ORM_USER])
            # A quick restart: pooled connections die with it, and each is replaced when
            # drawn (asyncpg has seen its socket close), so the next calls succeed
            # (docs/plugins/postgres.md).
            await asyncio.to_thread(server.restart)
            after_restart = {
                f"after_restart_{PLUGIN_OF_USER[user]}": (await service.over_http(user)).status_code
                for user in (PG_USER, ORM_USER)
            }
            assert set(after_restart.values()) == {200}, after_restart
            await wait_for(lambda: _is(service.probe("readiness"), 200), "ready after restart")
            await all_succeed(service, [PG_USER, ORM_USER])
            caplog.clear()
            await asyncio.to_thread(server.kill)
            not_ready = await wait_for(
                lambda: _is(service.probe("readiness"), 503), "readiness false"
            )
            assert await service.probe("liveness") == 200
            seen = await answers_during_outage(service, [PG_USER, ORM_USER])
            await asyncio.to_thread(server.start)
            ready = await wait_for(lambda: _is(service.probe("readiness"), 200), "readiness true")
            await all_succeed(service, [PG_USER, ORM_USER])
    figures.record_all({**after_restart, "not_ready_s": not_ready, "ready_again_s": ready, **seen})
    check_logged_once_per_plugin(caplog, ["pgsql", "orm"], figures)


async def _is(status: Awaitable[int], expected: int) -> bool:
    return await status == expected


def _postgres_environ(server: PrivatePostgres, prefix: str) -> dict[str, str]:
    return {
        f"LB_{prefix}_HOST": LOOPBACK,
        f"LB_{prefix}_PORT": str(server.port),
        f"LB_{prefix}_USERNAME": server.USER,
        f"LB_{prefix}_DATABASE": server.DATABASE,
    }
