"""Fixtures of the PostgreSQL plugin tests: scratch databases, ports, a relay.

They talk to the server at 127.0.0.1:5432 (trust authentication, user
``postgres``). Every database a test creates has a unique name and is dropped
afterwards; the shared server is never stopped: outages are played by a
closed port or by a relay the test shuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"

CountConnections = Callable[[str], Awaitable[int]]
WaitConnections = Callable[[str, int], Awaitable[int]]
MakeDatabase = Callable[[], Awaitable[str]]


@pytest_asyncio.fixture
async def admin() -> AsyncIterator[Any]:
    """A connection of the tests' own, to inspect the server."""
    conn = await asyncpg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        database="postgres",
        server_settings={"application_name": "lbtoolkit-tests-admin"},
    )
    try:
        yield conn
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def make_database(admin: Any) -> AsyncIterator[MakeDatabase]:
    """Create databases with unique names; each is dropped at teardown."""
    created: list[str] = []

    async def make() -> str:
        name = f"lbt_pg_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return name

    yield make
    for name in created:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_name() -> str:
    """A unique application_name, to find this test's connections in pg_stat_activity."""
    return f"lbt-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def count_connections(admin: Any) -> CountConnections:
    """Server-side connections whose application_name is the one given."""

    async def count(name: str) -> int:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
        return int(await admin.fetchval(query, name))

    return count


@pytest.fixture
def wait_connections(count_connections: CountConnections) -> WaitConnections:
    """Poll until the count reaches ``expected`` (a backend takes a moment to exit)."""

    async def wait(name: str, expected: int) -> int:
        deadline = time.monotonic() + 5
        while True:
            found = await count_connections(name)
            if found == expected or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)

    return wait


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


class Relay:
    """A TCP relay on a loopback port to the real server; ``close()`` plays an outage."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(PG_HOST, PG_PORT)
        self._writers |= {writer, up_writer}
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pipes:
            task.cancel()
        for w in (writer, up_writer):
            w.close()

    async def close(self) -> None:
        """Stop listening and cut every relayed connection."""
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[Relay]:
    """A running :class:`Relay`; closed at teardown if the test did not."""
    r = Relay()
    await r.start()
    try:
        yield r
    finally:
        await r.close()


def pg_environ(prefix: str, **values: str) -> dict[str, str]:
    """Variables for one plugin instance: ``pg_environ("SVC_DB", DATABASE="x")``."""
    base = {"HOST": PG_HOST, "PORT": str(PG_PORT), "USERNAME": PG_USER}
    return {f"{prefix}_{key}": value for key, value in {**base, **values}.items()}


@pytest.fixture
def environ_for() -> Callable[..., dict[str, str]]:
    """:func:`pg_environ` as a fixture, for test modules (they are not a package)."""
    return pg_environ
