"""uvicorn servers started without uvicorn's ticking task: Date header, no timers, stop."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from lbtoolkit.tools._listen import listen_tcp
from lbtoolkit.tools._uvicorn import start_server


async def hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
async def served() -> AsyncIterator[tuple[uvicorn.Server, int]]:
    sock = listen_tcp("127.0.0.1", 0)
    server = await start_server(hello, sock, server_header=False)
    try:
        yield server, sock.getsockname()[1]
    finally:
        await server.shutdown(sockets=[sock])


async def test_responses_carry_the_current_date(served: tuple[uvicorn.Server, int]) -> None:
    _, port = served
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.text == "hello"
    sent = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
    assert abs(sent - time.time()) < 5


async def test_a_started_server_leaves_no_timer_pending(
    served: tuple[uvicorn.Server, int],
) -> None:
    # The point of starting uvicorn this way: nothing wakes the loop periodically.
    # asyncio keeps its timers in the loop's private ``_scheduled`` heap.
    _, port = served
    async with httpx.AsyncClient() as client:
        await client.get(f"http://127.0.0.1:{port}/")
    await asyncio.sleep(0.2)
    loop: Any = asyncio.get_running_loop()
    pending = [handle for handle in loop._scheduled if not handle.cancelled()]
    assert pending == []


async def test_a_server_that_cannot_start_closes_its_socket() -> None:
    sock = listen_tcp("127.0.0.1", 0)
    sock.close()  # uvicorn cannot serve on a closed socket
    with pytest.raises(OSError):  # noqa: PT011 - the OS's own error, whatever its errno
        await start_server(hello, sock)
    assert sock.fileno() == -1


async def test_without_the_date_header_only_configured_headers_are_sent() -> None:
    sock = listen_tcp("127.0.0.1", 0)
    server = await start_server(hello, sock, date_header=False, server_header=False)
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{sock.getsockname()[1]}/")
    finally:
        await server.shutdown(sockets=[sock])
    assert "date" not in response.headers
