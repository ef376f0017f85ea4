"""Clients that hang up mid-body, stall, or keep an idle connection open."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from types import SimpleNamespace

import pytest

from lbtoolkit._di import Injector
from lbtoolkit.config import ConfigController
from lbtoolkit.server.http import HttpServer
from lbtoolkit.spec import ServiceSpec
from lbtoolkit.tools import Tools
from tests.server.http.support import open_server, spec_of, wait_until
from tests.server.http.users import UsersService

SEARCH = "/v1/users:search"
HALF_A_BODY = (
    f"POST {SEARCH} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
    "content-length: 40\r\n\r\n"
    '{"query": "ab'
).encode()


def users(protos: SimpleNamespace) -> list[tuple[ServiceSpec, object]]:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    return [(spec, UsersService(protos.users))]


def search_requests(server: HttpServer, code: str) -> float | None:
    labels = {"server": "test", "method": "POST", "route": SEARCH, "code": code}
    return server._tools.metrics.registry.get_sample_value("lb_http_requests_total", labels)


async def read_until_closed(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    async with asyncio.timeout(timeout):
        return await reader.read()


async def test_a_client_hanging_up_mid_body_counts_as_499_without_an_error(
    protos: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lbtoolkit.server.http")
    async with open_server(users(protos)) as server:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(HALF_A_BODY)
        await writer.drain()
        await wait_until(lambda: server.in_flight == 1)
        writer.close()
        await writer.wait_closed()
        await wait_until(lambda: search_requests(server, "499") == 1)
    assert search_requests(server, "500") is None
    records = [r for r in caplog.records if r.name == "lbtoolkit.server.http"]
    assert [r.levelname for r in records if r.levelno >= logging.WARNING] == []
    hang_ups = [r for r in records if "closed the request" in r.getMessage()]
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in hang_ups] == [
        (
            "DEBUG",
            (
                "client closed the request to /httptest.users.Users/SearchUsers "
                "before sending its body"
            ),
            None,
        )
    ]


async def test_a_stalled_body_answers_408_after_the_read_timeout(
    protos: SimpleNamespace,
) -> None:
    environ = {"LB_TEST_SERVER_READ_TIMEOUT": "300ms"}
    async with open_server(users(protos), environ=environ) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        started = time.monotonic()
        writer.write(HALF_A_BODY)
        await writer.drain()
        answer = await read_until_closed(reader)  # the server closes after its answer
        took = time.monotonic() - started
        writer.close()
        await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 408 Request Timeout"
    assert json.loads(body) == {
        "code": 4,  # DEADLINE_EXCEEDED
        "message": "request body not received within 0.3s",
        "details": [],
        "status": "Request Timeout",
    }
    assert 0.3 <= took < 3
    assert search_requests(server, "408") == 1


async def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(
    protos: SimpleNamespace,
) -> None:
    environ = {"LB_TEST_SERVER_KEEPALIVE_TIMEOUT": "300ms"}
    async with open_server(users(protos), environ=environ) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /v1/users/1 HTTP/1.1\r\nhost: test\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        answered = time.monotonic()
        length = next(
            int(line.partition(b":")[2])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await reader.readexactly(length)
        rest = await read_until_closed(reader)
        idle = time.monotonic() - answered
        writer.close()
        await writer.wait_closed()
    assert head.startswith(b"HTTP/1.1 200")
    assert rest == b""
    assert 0.25 <= idle < 3


_RULE = "is not a valid duration (over 0s, at most 24h)"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LB_EXAMPLE_SERVER_READ_TIMEOUT", "0s", f"0s {_RULE}"),
        ("LB_EXAMPLE_SERVER_READ_TIMEOUT", "-1s", f"-1s {_RULE}"),
        ("LB_EXAMPLE_SERVER_KEEPALIVE_TIMEOUT", "0s", f"0s {_RULE}"),
        ("LB_EXAMPLE_SERVER_KEEPALIVE_TIMEOUT", "25h", f"25h {_RULE}"),
    ],
)
def test_timeouts_out_of_range_are_reported_with_their_names(
    variable: str, value: str, message: str
) -> None:
    config = ConfigController("LB", environ={variable: value})
    HttpServer("example", runtime_config=config, tools=Tools("example", "lb"), injector=Injector())
    assert [(issue.variable, issue.message) for issue in config.issues] == [(variable, message)]
