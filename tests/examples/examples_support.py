"""What the tests of the users and notifier examples share: environments, scratch servers, waits."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aio_pika
import asyncpg

from lbtoolkit import Service
from lbtoolkit.codegen import generate_package
from lbtoolkit.plugins import redis
from lbtoolkit.plugins.redis._config import Target, resolve_target
from tests.codegen.support import without_generator_stamps

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# The demo's three servers on loopback, each on a port the system picks.
DEMO_ON_FREE_PORTS = {
    "DEMO_GREETER_GRPC_SERVER_LISTEN": "127.0.0.1",
    "DEMO_GREETER_GRPC_SERVER_PORT": "0",
    "DEMO_GREETER_SERVER_LISTEN": "127.0.0.1",
    "DEMO_GREETER_SERVER_PORT": "0",
    "DEMO_PROBES_SERVER_LISTEN": "127.0.0.1",
    "DEMO_PROBES_SERVER_PORT": "0",
}


def stale_generated_files(
    protos: list[Path], include: list[Path], checked_in: Path, out: Path
) -> list[str]:
    """Files of ``checked_in`` that a fresh ``lbtoolkit generate`` writes otherwise."""
    generate_package(protos, include=include, out=out)
    return [
        str(path.relative_to(out))
        for path in sorted(out.rglob("*.py*"))
        if not (checked_in / path.relative_to(out)).exists()
        or without_generator_stamps((checked_in / path.relative_to(out)).read_text())
        != without_generator_stamps(path.read_text())
    ]


def redis_target(app: Service, prefix: str) -> Target:
    """Where the redis plugin under ``prefix`` would connect, read from the parsed config only."""
    (config,) = [c for c in app.runtime.config.parsed(prefix) if isinstance(c, redis.Config)]
    return resolve_target(config)


def server_prefix(env_prefix: str, service: str) -> str:
    """``USERS_USERS`` for the service ``users``: its servers are named after the service."""
    return f"{env_prefix}_{re.sub(r'[^0-9A-Za-z]+', '_', service).upper()}"


def users_environ(database: str, service: str = "users", **overrides: str) -> dict[str, str]:
    """The users example on free ports, a scratch database and the local servers."""
    servers = server_prefix("USERS", service)
    return {
        f"{servers}_GRPC_SERVER_LISTEN": "127.0.0.1",
        f"{servers}_GRPC_SERVER_PORT": "0",
        f"{servers}_SERVER_LISTEN": "127.0.0.1",
        f"{servers}_SERVER_PORT": "0",
        "USERS_PROBES_SERVER_LISTEN": "127.0.0.1",
        "USERS_PROBES_SERVER_PORT": "0",
        "USERS_DB_HOST": "127.0.0.1",
        "USERS_DB_USERNAME": "postgres",
        "USERS_DB_DATABASE": database,
        "USERS_DB_MIGRATIONS_DIR": str(EXAMPLES / "users" / "users_service" / "migrations"),
        "USERS_CACHE_ADDR": "127.0.0.1:6379",
        "USERS_CACHE_REQUIRED": "false",
        "USERS_EVENTS_HOST": "127.0.0.1",
        "USERS_STRICT_ENV": "true",
        **overrides,
    }


def notifier_environ(
    users_target: str, smtp_port: int, service: str = "notifier", **overrides: str
) -> dict[str, str]:
    """The notifier on free ports, calling ``users_target``, mailing through ``smtp_port``."""
    servers = server_prefix("NOTIFIER", service)
    return {
        f"{servers}_GRPC_SERVER_LISTEN": "127.0.0.1",
        f"{servers}_GRPC_SERVER_PORT": "0",
        f"{servers}_SERVER_LISTEN": "127.0.0.1",
        f"{servers}_SERVER_PORT": "0",
        "NOTIFIER_PROBES_SERVER_LISTEN": "127.0.0.1",
        "NOTIFIER_PROBES_SERVER_PORT": "0",
        "NOTIFIER_EVENTS_HOST": "127.0.0.1",
        "NOTIFIER_CLIENT_USERS_TARGET": users_target,
        "NOTIFIER_MAIL_HOST": "127.0.0.1",
        "NOTIFIER_MAIL_PORT": str(smtp_port),
        "NOTIFIER_MAIL_FROM": "welcome@example.com",
        "NOTIFIER_STRICT_ENV": "true",
        **overrides,
    }


def unique(kind: str) -> str:
    """A name no parallel test uses: services, exchanges and queues are named after it."""
    return f"{kind}-{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A database of the test's own on the local server, dropped afterwards."""
    name = f"lbt_users_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def delete_broker_objects(exchanges: list[str], queues: list[str]) -> None:
    """Remove what a test declared on the shared broker (durable, so it would stay)."""
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
            await channel.queue_delete(f"{queue}.dead-letter")
        for exchange in exchanges:
            await channel.exchange_delete(exchange)


async def wait_for(probe: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    """``probe()``'s first value that is not ``None``, asked every 50 ms for ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.05)
