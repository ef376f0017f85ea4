"""WebSocket routes: the ``websocket`` method on connect, ``websocket_proxy`` frames, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

import lbtoolkit
from lbtoolkit.testing import open_service
from tests.server.websocket.support import (
    PREFIX,
    Generated,
    Router,
    listen_locally,
    upstream,
)


@dataclass(frozen=True)
class Gateway:
    """The running WebSocket gateway: its addresses and its implementation."""

    ws: str
    http: str
    router: Router


@asynccontextmanager
async def _gateway(gen: Generated) -> AsyncIterator[Gateway]:
    async with upstream(gen) as greeter:
        environ = listen_locally("ROUTER_SERVER") | greeter
        app: lbtoolkit.Service = gen.wss.new_router_service(
            "router", env_prefix=PREFIX, environ=environ, argv=[]
        )
        router = Router(gen.wss_pb2)
        gen.wss.register_router_rpc_server(app, lambda: router)
        async with open_service(app):
            port = app.server.http.port
            yield Gateway(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}", router)


async def _frame(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await ws.recv())
    return data


async def test_connect_calls_the_websocket_method(generated: Generated) -> None:
    async with _gateway(generated) as gateway:
        url = f"{gateway.ws}/events?topic=news"
        async with websockets.connect(url, additional_headers={"X-User": "u1"}) as ws:
            first = await _frame(ws)
    assert first == {"id": None, "payload": {"topic": "news", "user": "u1"}}
    assert gateway.router.calls == [("news", "websocket")]


async def test_proxy_frame_is_answered_by_the_upstream(generated: Generated) -> None:
    async with _gateway(generated) as gateway:
        headers = {"X-User": "u1", "X-Tenant": "t9"}
        async with websockets.connect(f"{gateway.ws}/events", additional_headers=headers) as ws:
            await _frame(ws)  # the connect call's answer
            await ws.send(json.dumps({"id": 1, "method": "SayHello", "payload": {"name": "ada"}}))
            by_name = await _frame(ws)
            frame = {"id": "b", "method": "/wsgw.Router/SayHello", "payload": {"name": "bob"}}
            await ws.send(json.dumps(frame))
            by_path = await _frame(ws)
    assert by_name == {
        "id": 1,
        "payload": {"message": "hello ada", "metadata": {"x-user": "u1", "x-tenant": "t9"}},
    }
    assert by_path["id"] == "b"
    assert by_path["payload"]["message"] == "hello bob"


async def test_upstream_error_becomes_an_error_frame(generated: Generated) -> None:
    frame = {"id": 7, "method": "SayHello", "payload": {"name": "nobody"}}
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events") as ws,
    ):
        await _frame(ws)
        await ws.send(json.dumps(frame))
        answer = await _frame(ws)
    assert answer == {
        "id": 7,
        "error": {"code": "NOT_FOUND", "message": "no one is called nobody"},
    }


async def test_unknown_method_and_bad_frames_get_error_frames(generated: Generated) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events") as ws,
    ):
        await _frame(ws)
        await ws.send(json.dumps({"id": 1, "method": "Nope"}))
        unknown = await _frame(ws)
        await ws.send("{not json")
        malformed = await _frame(ws)
        await ws.send(json.dumps({"id": 2, "method": "SayHello", "payload": {"name": 5}}))
        bad_payload = await _frame(ws)
        # The connection survives all of it.
        await ws.send(json.dumps({"id": 3, "method": "SayHello", "payload": {"name": "ada"}}))
        fine = await _frame(ws)
    assert unknown["id"] == 1
    assert unknown["error"]["code"] == "UNIMPLEMENTED"
    assert "Nope" in unknown["error"]["message"]
    assert malformed["id"] is None
    assert malformed["error"]["code"] == "INVALID_ARGUMENT"
    assert "malformed JSON" in malformed["error"]["message"]
    assert bad_payload["id"] == 2
    assert bad_payload["error"]["code"] == "INVALID_ARGUMENT"
    assert "name" in bad_payload["error"]["message"]
    assert fine["payload"]["message"] == "hello ada"


async def test_refused_connect_sends_the_error_then_closes(generated: Generated) -> None:
    async with (
        _gateway(generated) as gateway,
        websockets.connect(f"{gateway.ws}/events?topic=forbidden") as ws,
    ):
        answer = await _frame(ws)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert answer == {"id": None, "error": {"code": "PERMISSION_DENIED", "message": "not for you"}}
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


async def test_unknown_path_is_refused_and_http_proxy_still_works(generated: Generated) -> None:
    async with _gateway(generated) as gateway:
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(f"{gateway.ws}/nowhere"):
                pass
        # A WEBSOCKET-only spec's http_proxy route is served by the same HTTP server.
        async with httpx.AsyncClient(base_url=gateway.http) as client:
            answer = await client.post("/hello", json={"name": "ada"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "hello ada"


async def test_a_client_that_does_not_read_is_closed(generated: Generated) -> None:
    async with _gateway(generated) as gateway:
        # The client library stops reading after one waiting frame: the socket backs up
        # (uncompressed, or the repetitive frames would shrink to nothing).
        url = f"{gateway.ws}/watch?topic=x"
        async with websockets.connect(url, max_queue=1, compression=None) as ws:
            async with asyncio.timeout(10):
                await gateway.router.watch_ended.wait()
            with pytest.raises(websockets.ConnectionClosed):
                await _read_until_closed(ws)
    # Stopped once the bounded queue filled: what waits for a slow client is bounded too.
    assert gateway.router.watched < 2000


async def _read_until_closed(ws: ClientConnection) -> None:
    async with asyncio.timeout(10):
        while True:
            await ws.recv()
