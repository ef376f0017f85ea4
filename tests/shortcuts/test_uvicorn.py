"""What the uvicorn shortcuts assume of uvicorn, checked against the installed release."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from lbtoolkit._shortcuts._uvicorn import (
    DateHeader,
    close_connection,
    connections,
    is_new_connection,
    request_tasks,
    shut_down_connection,
)
from lbtoolkit.tools._listen import listen_tcp
from lbtoolkit.tools._uvicorn import start_server

WAIT = 5.0  # seconds a condition gets to come true


async def until(condition: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.01)


class Held:
    """An ASGI app whose requests wait until released."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        del scope, receive
        self.started += 1
        await self.release.wait()
        headers = [(b"content-length", b"4")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"done"})


@pytest.fixture
async def served() -> AsyncIterator[tuple[uvicorn.Server, int, Held]]:
    app = Held()
    sock = listen_tcp("127.0.0.1", 0)
    server = await start_server(app, sock, server_header=False, access_log=False)
    try:
        yield server, sock.getsockname()[1], app
    finally:
        app.release.set()
        for task in request_tasks(server):
            task.cancel()
        await server.shutdown(sockets=[sock])


def test_the_date_is_rewritten_in_the_list_connections_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def hello(scope: Any, receive: Any, send: Any) -> None:
        raise NotImplementedError

    config = uvicorn.Config(hello, headers=[("x-served-by", "test")], server_header=False)
    config.load()
    server = uvicorn.Server(config)
    clock = [1_700_000_000.2]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    date = DateHeader(server)
    held = server.server_state.default_headers  # what a connection captures
    assert held == [(b"date", b"Tue, 14 Nov 2023 22:13:20 GMT"), (b"x-served-by", b"test")]

    clock[0] += 0.5  # same second: nothing to do
    date.refresh()
    assert held[0] == (b"date", b"Tue, 14 Nov 2023 22:13:20 GMT")

    clock[0] += 60
    date.refresh()
    assert held is server.server_state.default_headers
    assert held[0] == (b"date", b"Tue, 14 Nov 2023 22:14:20 GMT")


async def test_a_response_carries_the_header_list_as_it_is_when_sent(
    served: tuple[uvicorn.Server, int, Held],
) -> None:
    # DateHeader rewrites uvicorn's list in place: were it copied when a
    # request begins, a slow response would carry the date of its start.
    server, port, app = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await until(lambda: app.started == 1)
        server.server_state.default_headers[0] = (b"date", b"rewritten")
        app.release.set()
        answer = await reader.readuntil(b"done")
    finally:
        writer.close()
    assert b"\r\ndate: rewritten\r\n" in answer


async def test_a_connection_is_new_until_its_first_request_begins(
    served: tuple[uvicorn.Server, int, Held],
) -> None:
    server, port, app = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await until(lambda: connections(server))
        [connection] = connections(server)
        assert is_new_connection(connection)
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await until(lambda: app.started == 1)
        assert not is_new_connection(connection)
        assert len(request_tasks(server)) == 1
        app.release.set()
        await reader.readuntil(b"done")
        assert not is_new_connection(connection)  # served once: no longer new
    finally:
        writer.close()


async def test_shutting_down_closes_an_idle_connection_at_once(
    served: tuple[uvicorn.Server, int, Held],
) -> None:
    server, port, _ = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await until(lambda: connections(server))
        [connection] = connections(server)
        shut_down_connection(connection)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        await until(lambda: not connections(server))
    finally:
        writer.close()


async def test_shutting_down_a_busy_connection_lets_its_response_finish(
    served: tuple[uvicorn.Server, int, Held],
) -> None:
    server, port, app = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await until(lambda: app.started == 1)
        [connection] = connections(server)
        shut_down_connection(connection)
        app.release.set()
        answer = await asyncio.wait_for(reader.read(), WAIT)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"done")
    finally:
        writer.close()


async def test_closing_a_connection_cuts_it_mid_request(
    served: tuple[uvicorn.Server, int, Held],
) -> None:
    server, port, app = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await until(lambda: app.started == 1)
        [connection] = connections(server)
        close_connection(connection)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
    finally:
        writer.close()


def test_a_connection_without_a_request_cycle_is_never_new() -> None:
    # A WebSocket connection has no ``cycle``; an object without a transport is left alone.
    assert not is_new_connection(object())
    close_connection(object())
