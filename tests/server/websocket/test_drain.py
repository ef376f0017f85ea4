"""The drain at stop: calls in flight over a WebSocket are answered, then the close says 1012."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

import lbtoolkit
from lbtoolkit.server import RequestContext
from lbtoolkit.server.http import HttpServer
from lbtoolkit.testing import open_service
from tests.server.http.support import wait_until
from tests.server.websocket.support import (
    PREFIX,
    Generated,
    Greeter,
    Router,
    listen_locally,
)
from tests.server.websocket.test_streaming import (
    StreamsService,
    streams,  # noqa: F401 - the fixture, used by name
)

_RESTART = 1012
_REFUSAL = "the server is shutting down; retry on another instance"


class SlowGreeter(Greeter):
    """Greets ``sleep <seconds>`` after that many seconds."""

    def __init__(self, messages: Any) -> None:
        super().__init__(messages)
        self.started = 0

    async def say_hello(self, request: Any, context: RequestContext) -> Any:
        if request.name.startswith("sleep "):
            self.started += 1
            await asyncio.sleep(float(request.name.split()[1]))
        return await super().say_hello(request, context)


class SlowRouter(Router):
    """Answers the connect call of topic ``sleep <seconds>`` after that many seconds."""

    async def subscribe(self, request: Any, context: RequestContext) -> Any:
        if request.topic.startswith("sleep "):
            await asyncio.sleep(float(request.topic.split()[1]))
        return await super().subscribe(request, context)


@dataclass(frozen=True)
class Gateway:
    """The running gateway: its WebSocket address, its HTTP server and the upstream."""

    ws: str
    port: int
    http: HttpServer
    greeter: SlowGreeter


@asynccontextmanager
async def _gateway(gen: Generated) -> AsyncIterator[Gateway]:
    upstream: lbtoolkit.Service = gen.greeter.new_greeter_service(
        "greeter", env_prefix=PREFIX, environ=listen_locally("GREETER_GRPC_SERVER"), argv=[]
    )
    greeter = SlowGreeter(gen.greeter_pb2)
    gen.greeter.register_greeter_rpc_server(upstream, lambda: greeter)
    async with open_service(upstream):
        environ = listen_locally("ROUTER_SERVER") | {
            f"{PREFIX}_CLIENT_GREETER_TARGET": f"127.0.0.1:{upstream.server.grpc.port}"
        }
        app: lbtoolkit.Service = gen.wss.new_router_service(
            "router", env_prefix=PREFIX, environ=environ, argv=[]
        )
        router = SlowRouter(gen.wss_pb2)
        gen.wss.register_router_rpc_server(app, lambda: router)
        async with open_service(app):
            http: HttpServer = app.server.http
            yield Gateway(f"ws://127.0.0.1:{http.port}", http.port, http, greeter)


async def _frame(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        data: dict[str, Any] = json.loads(await ws.recv())
    return data


async def _close_code(ws: ClientConnection) -> int | None:
    """The code of the close the server sends next (no frame may come before it)."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await _frame(ws)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


async def _frames_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame until the close, and the close's code."""
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(await _frame(ws))
    except websockets.ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd is not None else None


async def _wait_until_started(gateway: Gateway) -> None:
    await wait_until(lambda: gateway.greeter.started > 0, timeout=10)


def _kept_alive(port: int) -> socket.socket:
    """A connection the server has answered a request on and keeps open (blocking calls)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    sock.setblocking(False)  # noqa: FBT003 - the socket API
    return sock


def _hello(frame_id: int, name: str) -> str:
    return json.dumps({"id": frame_id, "method": "SayHello", "payload": {"name": name}})


async def test_a_call_in_flight_is_answered_then_the_connection_closes(
    generated: Generated,
) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events?topic=news") as ws,
    ):
        await _frame(ws)  # the connect call's answer
        await ws.send(_hello(1, "sleep 1.0"))
        await _wait_until_started(gateway)
        started = time.monotonic()
        stopping = asyncio.create_task(gateway.http.stop(10))
        answer = await _frame(ws)
        code = await _close_code(ws)
        await stopping
        took = time.monotonic() - started
    assert answer == {"id": 1, "payload": {"message": "hello sleep 1.0"}}
    assert code == _RESTART
    # The call's remaining time, not the 10 s budget.
    assert 0.5 < took < 3


async def test_the_connect_call_in_flight_is_answered(generated: Generated) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events?topic=sleep%200.8") as ws,
    ):
        await asyncio.sleep(0.2)  # the connect call runs
        started = time.monotonic()
        stopping = asyncio.create_task(gateway.http.stop(10))
        answer = await _frame(ws)
        code = await _close_code(ws)
        await stopping
        took = time.monotonic() - started
    assert answer == {"id": None, "payload": {"topic": "sleep 0.8"}}
    assert code == _RESTART
    assert took < 3


async def test_a_call_sent_once_the_drain_began_is_refused(generated: Generated) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events") as ws,
    ):
        await _frame(ws)
        await ws.send(_hello(1, "sleep 1.5"))
        await _wait_until_started(gateway)
        stopping = asyncio.create_task(gateway.http.stop(10))
        await asyncio.sleep(0.3)  # the drain has begun
        await ws.send(_hello(2, "ada"))
        refused = await _frame(ws)
        answer = await _frame(ws)
        code = await _close_code(ws)
        await stopping
    assert refused == {"id": 2, "error": {"code": "UNAVAILABLE", "message": _REFUSAL}}
    assert answer["id"] == 1
    assert answer["payload"]["message"] == "hello sleep 1.5"
    assert code == _RESTART
    assert gateway.greeter.started == 1  # the refused call never reached the upstream


async def test_a_call_past_the_budget_is_cut_and_named(
    generated: Generated, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events") as ws,
    ):
        await _frame(ws)
        await ws.send(_hello(1, "sleep 5"))
        await _wait_until_started(gateway)
        started = time.monotonic()
        await gateway.http.stop(0.3)
        took = time.monotonic() - started
        code = await _close_code(ws)  # no answer, only the close
    assert code == _RESTART
    assert took < 2
    cut = [r for r in caplog.records if "still running" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in cut] == [
        (
            "ERROR",
            (
                'HTTP server "router": cancelling 1 request(s) still running after the '
                "shutdown budget of 0.3s: WebSocket /wsgw.Router/SayHello (1)"
            ),
        )
    ]


async def test_a_cancelled_stop_cuts_the_calls_and_names_them(
    generated: Generated, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events") as ws,
    ):
        await _frame(ws)
        await ws.send(_hello(1, "sleep 5"))
        await _wait_until_started(gateway)
        stopping = asyncio.create_task(gateway.http.stop(10))
        await asyncio.sleep(0.3)
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping
        with pytest.raises(websockets.ConnectionClosed):
            await _frame(ws)
    cut = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert cut == [
        (
            'HTTP server "router": cancelling 1 request(s) still running after the '
            "shutdown budget of 10s: WebSocket /wsgw.Router/SayHello (1)"
        )
    ]


async def test_a_stream_is_ended_at_once(generated: Generated) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/watch?topic=x", compression=None) as ws,
    ):
        await _frame(ws)
        started = time.monotonic()
        stopping = asyncio.create_task(gateway.http.stop(10))
        frames, code = await _frames_until_closed(ws)
        await stopping
        took = time.monotonic() - started
    assert frames[-1] == {
        "id": None,
        "error": {"code": "UNAVAILABLE", "message": "the server is stopping"},
    }
    assert all("payload" in frame for frame in frames[:-1])
    assert code == _RESTART
    assert took < 3


async def test_a_connection_whose_call_takes_the_frames_is_ended_as_a_stream(
    streams: ModuleType,  # noqa: F811 - the fixture imported above
) -> None:
    app: lbtoolkit.Service = streams.new_streams_service(
        "streams",
        env_prefix=PREFIX,
        environ=listen_locally("STREAMS_SERVER", "STREAMS_GRPC_SERVER"),
        argv=[],
    )
    service = StreamsService(importlib.import_module(streams.__name__[: -len("toolkit")] + "pb2"))
    streams.register_streams_rpc_server(app, lambda: service)
    async with (
        open_service(app),
        websockets.connect(f"ws://127.0.0.1:{app.server.http.port}/echo") as ws,
    ):
        await ws.send(json.dumps({"text": "a"}))
        echoed = await _frame(ws)
        started = time.monotonic()
        stopping = asyncio.create_task(app.server.http.stop(10))
        ended = await _frame(ws)
        code = await _close_code(ws)
        await stopping
        took = time.monotonic() - started
    assert echoed == {"id": None, "payload": {"text": "a"}}
    assert ended == {
        "id": None,
        "error": {"code": "UNAVAILABLE", "message": "the server is stopping"},
    }
    assert code == _RESTART
    assert service.ended == {"echo": "cancelled"}
    assert took < 3


async def test_a_new_connection_during_the_drain_is_refused(generated: Generated) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events") as ws,
    ):
        await _frame(ws)
        await ws.send(_hello(1, "sleep 1.5"))
        await _wait_until_started(gateway)
        # Open before the stop: its handshake comes once the drain began.
        late = await asyncio.to_thread(_kept_alive, gateway.port)
        stopping = asyncio.create_task(gateway.http.stop(10))
        await asyncio.sleep(0.3)
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{gateway.ws}/events", sock=late):
                pass
        answer = await _frame(ws)
        code = await _close_code(ws)
        await stopping
    assert refused.value.response.status_code == 503
    assert json.loads(refused.value.response.body)["message"] == _REFUSAL
    assert answer["payload"]["message"] == "hello sleep 1.5"
    assert code == _RESTART
