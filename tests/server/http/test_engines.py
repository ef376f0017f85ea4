"""The same behaviours on both HTTP engines ({P}_SERVER_ENGINE), and where they differ."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from types import SimpleNamespace

import httpx
import pytest
import websockets
from starlette.websockets import WebSocket, WebSocketDisconnect

from lbtoolkit._di import Injector
from lbtoolkit.config import ConfigError
from lbtoolkit.server.http import HttpServer, _engines
from tests.server.http.support import client, new_server, open_server, spec_of, wait_until
from tests.server.http.users import UsersService

# granian is in the test dependencies: both engines always run here.
ENGINES = ["uvicorn", "granian"]

# Each test names its engine itself.
pytestmark = pytest.mark.one_engine


@asynccontextmanager
async def users_server(
    protos: SimpleNamespace, engine: str, *, users: UsersService | None = None
) -> AsyncIterator[HttpServer]:
    implementation = users or UsersService(protos.users)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    environ = {"LB_TEST_SERVER_ENGINE": engine}
    async with open_server([(spec, implementation)], environ=environ) as server:
        yield server


async def exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes, return what the server answers until it closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), timeout=2):
            answer += chunk
    except TimeoutError:
        pass
    writer.close()
    return answer


@pytest.mark.parametrize("engine", ENGINES)
async def test_port_0_is_the_bound_port_and_closed_once_stopped(
    protos: SimpleNamespace, engine: str
) -> None:
    async with users_server(protos, engine) as server, client(server) as http:
        response = await http.get("/v1/users/3")
    assert server.port != 0
    assert response.status_code == 200
    with pytest.raises(OSError):  # noqa: PT011 - refused, whatever the platform calls it
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


@pytest.mark.parametrize("engine", ENGINES)
async def test_get_and_post_are_transcoded(protos: SimpleNamespace, engine: str) -> None:
    users = UsersService(protos.users)
    async with users_server(protos, engine, users=users) as server, client(server) as http:
        got = await http.get("/v1/users/42?readMask=displayName,email")
        searched = await http.post(
            "/v1/users:search?ids=3&ids=4", json={"city": "Rome", "age": {"min": 1}}
        )
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert got.json()["id"] == "42"
    assert got.json()["email"] == "display_name,email"
    assert searched.status_code == 200
    assert [user["id"] for user in searched.json()] == ["3", "4"]
    search = next(request for name, request, _ in users.received if name == "SearchUsers")
    assert search.filter.city == "Rome"
    assert search.filter.age.min == 1


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_error_is_the_json_error_body(protos: SimpleNamespace, engine: str) -> None:
    async with users_server(protos, engine) as server, client(server) as http:
        response = await http.post("/v1/fail", json={"code": "NOT_FOUND", "message": "no user 9"})
        unknown = await http.get("/v2/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 5
    assert response.json()["message"] == "no user 9"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 5


@pytest.mark.parametrize("engine", ENGINES)
async def test_head_answers_as_get_without_the_body(protos: SimpleNamespace, engine: str) -> None:
    async with users_server(protos, engine) as server:
        async with client(server) as http:
            got = await http.get("/v1/users/7")
            head = await http.head("/v1/users/7")
        # On one connection: a body after the HEAD answer would be read as the next answer.
        request = b"HEAD /v1/users/7 HTTP/1.1\r\nhost: x\r\n\r\nGET /v1/users/7 HTTP/1.1\r\n"
        raw = await exchange(server.port, request + b"host: x\r\nconnection: close\r\n\r\n")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] != "0"
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK")
    assert rest.startswith(b"HTTP/1.1 200 OK")
    assert rest.endswith(got.content)


@pytest.mark.parametrize("engine", ENGINES)
async def test_requests_with_bodies_follow_each_other_on_one_connection(
    protos: SimpleNamespace, engine: str
) -> None:
    # A body is taken as whole once its content-length is in (granian still
    # holds an empty last message then): the connection must serve on.
    body = b'{"city": "Rome"}'
    head = b"POST /v1/users:search?ids=%d HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    length = b"content-length: %d\r\n" % len(body)
    requests = [head % n + length + b"\r\n" + body for n in (1, 2)]
    last = head % 3 + length + b"connection: close\r\n\r\n" + body
    async with users_server(protos, engine) as server:
        raw = await exchange(server.port, b"".join([*requests, last]))
    answers = raw.split(b"HTTP/1.1 ")[1:]
    assert [answer[:3] for answer in answers] == [b"200"] * 3
    assert [json.loads(answer.partition(b"\r\n\r\n")[2])[0]["id"] for answer in answers] == [
        "1",
        "2",
        "3",
    ]


@pytest.mark.parametrize("engine", ENGINES)
async def test_stop_lets_a_request_in_flight_finish_and_refuses_new_connections(
    protos: SimpleNamespace, engine: str
) -> None:
    async with users_server(protos, engine) as server, client(server, timeout=10) as http:
        call = asyncio.create_task(http.get("/v1/sleep/400"))
        await wait_until(lambda: server.in_flight == 1)
        stopping = asyncio.create_task(server.stop(10))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.ConnectError):
            async with client(server) as late:
                await late.get("/v1/users/1")
        response = await call
        await stopping
    assert response.status_code == 200
    assert response.json() == {"slept": 400}
    assert server.in_flight == 0


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_request_past_the_deadline_is_cut(
    protos: SimpleNamespace, engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with users_server(protos, engine) as server, client(server, timeout=10) as http:
        call = asyncio.create_task(http.get("/v1/sleep/5000"))
        await wait_until(lambda: server.in_flight == 1)
        await server.stop(0.2)
        # uvicorn closes the connection; granian answers the cancelled request 500 and closes.
        try:
            answer = await call
        except httpx.HTTPError:
            answer = None
    assert answer is None or answer.status_code == 500
    cut = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert cut == [
        (
            'HTTP server "test": cancelling 1 request(s) still running after the shutdown '
            "budget of 0.2s: GET /v1/sleep/{millis} (1)"
        )
    ]


@pytest.mark.parametrize(
    ("engine", "content_type", "body"),
    [
        (
            "uvicorn",
            b"application/json",
            {"code": 3, "message": "invalid HTTP request", "status": "Bad Request", "details": []},
        ),
        ("granian", None, None),
    ],
)
async def test_a_request_the_parser_refuses_gets_400(
    protos: SimpleNamespace, engine: str, content_type: bytes | None, body: object
) -> None:
    async with users_server(protos, engine) as server:
        raw = await exchange(server.port, b"BR@W /v1/users/1 HTTP/1.1\r\nhost: x\r\n\r\n")
        async with client(server) as http:
            still_serving = await http.get("/v1/users/1")
    head, _, content = raw.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers[b"connection"] == b"close"
    # granian answers by itself, with no body: the JSON error shape is uvicorn's only.
    assert headers.get(b"content-type") == content_type
    assert (json.loads(content) if content else None) == body
    assert still_serving.status_code == 200


async def test_a_websocket_call_the_stop_closes_on_granian_lasts_until_its_close_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # granian drops a close not yet written once the call has ended: the client
    # would get a bare close instead of 1012. Here the write is held back until
    # the endpoint has returned, and the call must still be running then.
    ended = asyncio.Event()
    running_while_written: list[bool] = []

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            ended.set()

    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        server.add_websocket_route("/echo", echo)

    settle = _engines._settle
    environ = {"LB_TEST_SERVER_ENGINE": "granian"}
    async with open_server(environ=environ, setup=setup) as server:
        engine = server._server
        assert engine is not None

        async def written_once_the_endpoint_returned(sent: Awaitable[None]) -> None:
            await asyncio.wait_for(ended.wait(), timeout=2)
            await asyncio.sleep(0.05)  # time for a call that does not wait to end
            running_while_written.append(engine.busy())
            await settle(sent)

        monkeypatch.setattr(_engines, "_settle", written_once_the_endpoint_returned)
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/echo") as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            await server.stop(5)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
    assert running_while_written == [True]
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012


def test_granian_missing_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes the package unimportable, as if it were not installed.
    monkeypatch.setitem(sys.modules, "granian", None)
    with pytest.raises(ConfigError) as raised:
        new_server(environ={"LB_TEST_SERVER_ENGINE": "granian"})
    text = str(raised.value)
    assert "LB_TEST_SERVER_ENGINE: granian is not installed" in text
    assert "pip install granian" in text


def test_an_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        new_server(environ={"LB_TEST_SERVER_ENGINE": "hypercorn"})
    assert "LB_TEST_SERVER_ENGINE" in str(raised.value)
