"""Client- and bidi-streaming ``websocket`` methods, and streams through ``http_proxy``."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

import lbtoolkit
from lbtoolkit.codegen import generate_package
from lbtoolkit.server import RequestContext
from lbtoolkit.testing import open_service
from tests.server.websocket.support import PREFIX, listen_locally

PROTOS = Path(__file__).parent / "protos"


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated ``wsstream`` toolkit module (``streams.pb`` holds the messages)."""
    out = tmp_path_factory.mktemp("wsstream")
    generate_package(
        [PROTOS / "wsstream" / "streams.proto"], include=[PROTOS], out=out / "wsstream_gen"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(out))
        yield importlib.import_module("wsstream_gen.wsstream.streams_toolkit")


def _messages(toolkit: ModuleType) -> ModuleType:
    return importlib.import_module(toolkit.__name__.replace("_toolkit", "_pb2"))


class StreamsService:
    """Echoes, sums and counts; records how each of its streams ended."""

    def __init__(self, pb: ModuleType) -> None:
        self.pb = pb
        self.ended: dict[str, str] = {}
        self.ended_event = asyncio.Event()
        self.deadlines: list[float | None] = []
        self.transports: list[str] = []

    def _end(self, method: str, how: str) -> None:
        self.ended[method] = how
        self.ended_event.set()

    async def echo(
        self, requests: AsyncIterator[Any], context: RequestContext
    ) -> AsyncIterator[Any]:
        self.transports.append(context.transport)
        try:
            async for note in requests:
                yield self.pb.Note(text=note.text)
        except asyncio.CancelledError:
            self._end("echo", "cancelled")
            raise
        self._end("echo", "requests ended")

    async def sum(self, requests: AsyncIterator[Any], context: RequestContext) -> Any:
        del context
        total = count = 0
        async for number in requests:
            total += number.value
            count += 1
        return self.pb.Total(sum=total, count=count)

    async def count(self, request: Any, context: RequestContext) -> AsyncIterator[Any]:
        self.deadlines.append(context.raw.time_remaining())
        try:
            for n in range(1, request.count + 1):
                yield self.pb.Tick(n=n)
                if request.pause:
                    await asyncio.sleep(request.pause)
        except asyncio.CancelledError:
            self._end("count", "cancelled")
            raise

    async def slow(self, request: Any, context: RequestContext) -> Any:
        self.deadlines.append(context.raw.time_remaining())
        try:
            await asyncio.sleep(request.pause)
        except asyncio.CancelledError:
            self._end("slow", "cancelled")
            raise
        return self.pb.Tick(n=request.count)


@dataclass(frozen=True)
class Running:
    """The Streams service: its WebSocket base URL, gRPC port and implementation."""

    ws: str
    grpc_port: int
    service: StreamsService


@asynccontextmanager
async def _streams_service(toolkit: ModuleType) -> AsyncIterator[Running]:
    environ = listen_locally("STREAMS_SERVER", "STREAMS_GRPC_SERVER")
    app: lbtoolkit.Service = toolkit.new_streams_service(
        "streams", env_prefix=PREFIX, environ=environ, argv=[]
    )
    service = StreamsService(_messages(toolkit))
    toolkit.register_streams_rpc_server(app, lambda: service)
    async with open_service(app):
        yield Running(f"ws://127.0.0.1:{app.server.http.port}", app.server.grpc.port, service)


async def _reply(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


async def test_bidi_echo_answers_each_frame_and_ends_on_null(streams: ModuleType) -> None:
    async with (
        _streams_service(streams) as running,
        websockets.connect(f"{running.ws}/echo") as ws,
    ):
        for text in ("one", "two", "three"):
            await ws.send(json.dumps({"text": text}))
            assert await _reply(ws) == {"id": None, "payload": {"text": text}}
        await ws.send("null")
        with pytest.raises(websockets.ConnectionClosedOK) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1000
        assert running.service.ended == {"echo": "requests ended"}


async def test_client_streaming_sum_answers_once_the_requests_end(streams: ModuleType) -> None:
    async with (
        _streams_service(streams) as running,
        websockets.connect(f"{running.ws}/sum") as ws,
    ):
        for value in (1, 2, 39):
            await ws.send(json.dumps({"value": value}))
        await ws.send("null")
        # int64 is a string in protobuf's JSON mapping.
        assert await _reply(ws) == {"id": None, "payload": {"sum": "42", "count": 3}}
        with pytest.raises(websockets.ConnectionClosedOK):
            await ws.recv()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("{nope", "malformed JSON"),
        ("[1, 2]", "a request frame is a JSON object"),
        ('{"value": "many"}', 'invalid field "value" in the frame'),
    ],
)
async def test_a_bad_request_frame_ends_the_call_with_a_json_close_reason(
    streams: ModuleType, frame: str, message: str
) -> None:
    async with (
        _streams_service(streams) as running,
        websockets.connect(f"{running.ws}/sum") as ws,
    ):
        await ws.send(json.dumps({"value": 1}))
        await ws.send(frame)
        error = await _reply(ws)
        assert error["id"] is None
        assert error["error"]["code"] == "INVALID_ARGUMENT"
        assert message in error["error"]["message"]
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    reason = json.loads(closed.value.rcvd.reason)
    assert reason["code"] == "INVALID_ARGUMENT"
    assert message in reason["message"]


async def test_each_request_frame_is_validated(streams: ModuleType) -> None:
    async with (
        _streams_service(streams) as running,
        websockets.connect(f"{running.ws}/echo") as ws,
    ):
        await ws.send(json.dumps({"text": "fine"}))
        assert await _reply(ws) == {"id": None, "payload": {"text": "fine"}}
        await ws.send(json.dumps({"text": "far too long for the rule of twenty"}))
        error = await _reply(ws)
        assert error["error"]["code"] == "INVALID_ARGUMENT"
        assert "text: must be at most 20 characters" in error["error"]["message"]
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert len(closed.value.rcvd.reason.encode()) <= 123
    assert json.loads(closed.value.rcvd.reason)["code"] == "INVALID_ARGUMENT"


async def test_closing_the_socket_cancels_the_call(streams: ModuleType) -> None:
    async with _streams_service(streams) as running:
        async with websockets.connect(f"{running.ws}/echo") as ws:
            await ws.send(json.dumps({"text": "hi"}))
            assert await _reply(ws) == {"id": None, "payload": {"text": "hi"}}
        async with asyncio.timeout(10):
            await running.service.ended_event.wait()
        assert running.service.ended == {"echo": "cancelled"}


@asynccontextmanager
async def _gateway(toolkit: ModuleType, upstream: Running) -> AsyncIterator[str]:
    environ = listen_locally("GATEWAY_SERVER") | {
        f"{PREFIX}_CLIENT_STREAMS_TARGET": f"127.0.0.1:{upstream.grpc_port}"
    }
    app: lbtoolkit.Service = toolkit.new_stream_gateway_service(
        "gateway", env_prefix=PREFIX, environ=environ, argv=[]
    )
    async with open_service(app):
        yield f"http://127.0.0.1:{app.server.http.port}"


def _events(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


async def test_http_proxy_streams_a_grpc_server_stream_as_sse(streams: ModuleType) -> None:
    async with (
        _streams_service(streams) as running,
        _gateway(streams, running) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        response = await http.get("/v1/count/3", headers={"accept": "text/event-stream"})
        ndjson = await http.get("/v1/count/2", headers={"accept": "application/x-ndjson"})
    assert response.status_code == 200
    assert _events(response.text) == ['data: {"n":1}', 'data: {"n":2}', 'data: {"n":3}']
    assert ndjson.text.splitlines() == ['{"result":{"n":1}}', '{"result":{"n":2}}']
    assert len(running.service.deadlines) == 2


async def test_http_proxy_carries_the_callers_deadline(streams: ModuleType) -> None:
    headers = {"accept": "text/event-stream", "grpc-timeout": "300m"}
    async with (
        _streams_service(streams) as running,
        _gateway(streams, running) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        response = await http.get("/v1/count/3?pause=60", headers=headers)
        async with asyncio.timeout(10):
            await running.service.ended_event.wait()
    (deadline,) = running.service.deadlines
    assert deadline is not None
    assert 0 < deadline < 1  # the caller's 300m, as gRPC rounds it
    events = _events(response.text)
    assert events[:2] == ['data: {"n":1}', "event: error"]
    assert json.loads(events[2].removeprefix("data: "))["code"] == 4  # DEADLINE_EXCEEDED
    assert running.service.ended == {"count": "cancelled"}


async def test_a_unary_http_proxy_carries_the_callers_deadline(streams: ModuleType) -> None:
    async with (
        _streams_service(streams) as running,
        _gateway(streams, running) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        quick = await http.get("/v1/slow/3", headers={"grpc-timeout": "20S"})
        late = await http.get("/v1/slow/4?pause=60", headers={"grpc-timeout": "200m"})
        bad = await http.get("/v1/slow/5", headers={"grpc-timeout": "1 second"})
    assert (quick.status_code, quick.json()) == (200, {"n": 3})
    assert late.status_code == 504
    assert late.json()["code"] == 4  # DEADLINE_EXCEEDED
    assert bad.status_code == 400
    assert 'invalid header "grpc-timeout"' in bad.json()["message"]
    first, second = running.service.deadlines
    assert first is not None
    assert second is not None
    # gRPC rounds deadlines a little: the bounds only tell them from the default.
    assert 1 < first <= 21
    assert 0 < second < 1


async def test_http_proxy_refuses_an_invalid_stream_request_before_the_call(
    streams: ModuleType,
) -> None:
    async with (
        _streams_service(streams) as running,
        _gateway(streams, running) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        response = await http.get("/v1/count/5000", headers={"accept": "text/event-stream"})
    assert response.status_code == 400
    assert response.json()["code"] == 3
    assert running.service.deadlines == []


class Opener:
    """The WebSocket gateway's own method: answers the connection with one tick."""

    def __init__(self, pb: ModuleType) -> None:
        self.pb = pb

    async def open(self, request: Any, context: RequestContext) -> Any:
        del context
        return self.pb.Tick(n=request.count)


@asynccontextmanager
async def _ws_gateway(toolkit: ModuleType, upstream: Running) -> AsyncIterator[str]:
    environ = listen_locally("WSGATE_SERVER") | {
        f"{PREFIX}_CLIENT_STREAMS_TARGET": f"127.0.0.1:{upstream.grpc_port}"
    }
    app: lbtoolkit.Service = toolkit.new_ws_gateway_service(
        "wsgate", env_prefix=PREFIX, environ=environ, argv=[]
    )
    toolkit.register_ws_gateway_rpc_server(app, lambda: Opener(_messages(toolkit)))
    async with open_service(app):
        yield f"ws://127.0.0.1:{app.server.http.port}"


async def test_websocket_proxy_carries_bidi_client_and_server_streams(
    streams: ModuleType,
) -> None:
    async with (
        _streams_service(streams) as running,
        _ws_gateway(streams, running) as base,
        websockets.connect(f"{base}/gateway?count=7") as ws,
    ):
        assert await _reply(ws) == {"id": None, "payload": {"n": 7}}
        # Bidirectional: each request answered as it goes, the end acknowledged.
        await ws.send(json.dumps({"id": "e", "method": "Echo", "payload": {"text": "a"}}))
        assert await _reply(ws) == {"id": "e", "payload": {"text": "a"}}
        await ws.send(json.dumps({"id": "e", "payload": {"text": "b"}}))
        assert await _reply(ws) == {"id": "e", "payload": {"text": "b"}}
        await ws.send(json.dumps({"id": "e", "end": True}))
        assert await _reply(ws) == {"id": "e", "end": True}
        # Client streaming: one answer once the requests end.
        await ws.send(json.dumps({"id": 2, "method": "Sum", "payload": {"value": 40}}))
        await ws.send(json.dumps({"id": 2, "payload": {"value": 2}}))
        await ws.send(json.dumps({"id": 2, "end": True}))
        assert await _reply(ws) == {"id": 2, "payload": {"sum": "42", "count": 2}}
        assert await _reply(ws) == {"id": 2, "end": True}
        # Server streaming: every reply under the frame's id, then the end.
        await ws.send(json.dumps({"id": 3, "method": "Count", "payload": {"count": 2}}))
        answers = [await _reply(ws) for _ in range(3)]
        assert answers == [
            {"id": 3, "payload": {"n": 1}},
            {"id": 3, "payload": {"n": 2}},
            {"id": 3, "end": True},
        ]
        # A streaming call needs an id; the connection stays open after the error.
        await ws.send(json.dumps({"method": "Echo", "payload": {"text": "a"}}))
        error = await _reply(ws)
        assert error["error"]["code"] == "INVALID_ARGUMENT"
        assert "need an id" in error["error"]["message"]
        await ws.send(json.dumps({"id": 4, "method": "Count", "payload": {"count": 1}}))
        assert await _reply(ws) == {"id": 4, "payload": {"n": 1}}
    assert running.service.transports == ["grpc"]


async def test_websocket_proxy_streams_report_upstream_errors_under_their_id(
    streams: ModuleType,
) -> None:
    async with (
        _streams_service(streams) as running,
        _ws_gateway(streams, running) as base,
        websockets.connect(f"{base}/gateway") as ws,
    ):
        await _reply(ws)
        too_long = {"text": "far too long for the rule of twenty"}
        await ws.send(json.dumps({"id": 9, "method": "Echo", "payload": {"text": "ok"}}))
        assert await _reply(ws) == {"id": 9, "payload": {"text": "ok"}}
        await ws.send(json.dumps({"id": 9, "payload": too_long}))
        error = await _reply(ws)
        assert error["id"] == 9
        assert error["error"]["code"] == "INVALID_ARGUMENT"
        assert "text: must be at most 20 characters" in error["error"]["message"]
