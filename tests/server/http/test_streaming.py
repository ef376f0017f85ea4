"""Server-streaming methods over HTTP: Server-Sent Events, JSON lines, cancellation, deadlines."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lbtoolkit import errors
from lbtoolkit.codegen import generate_package
from lbtoolkit.server import RequestContext
from lbtoolkit.server.http._endpoint import grpc_timeout
from lbtoolkit.server.http._streaming import choose_format
from tests.server.http.support import client, open_server

PROTOS = Path(__file__).parent / "protos"


@dataclass(frozen=True)
class Ticker:
    """The generated ``httpstream`` modules."""

    toolkit: ModuleType
    pb: ModuleType


@pytest.fixture(scope="module")
def ticker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ticker]:
    out = tmp_path_factory.mktemp("httpstream")
    generate_package(
        [PROTOS / "httpstream" / "ticker.proto"], include=[PROTOS], out=out / "httpstream_gen"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(out))
        toolkit = importlib.import_module("httpstream_gen.httpstream.ticker_toolkit")
        pb = importlib.import_module("httpstream_gen.httpstream.ticker_pb2")
        yield Ticker(toolkit, pb)


class TickerService:
    """Counts; ``hang`` waits after its first tick and records how it was ended."""

    def __init__(self, pb: ModuleType) -> None:
        self.pb = pb
        self.hanging = asyncio.Event()
        self.ended: list[type[BaseException]] = []
        self.ended_event = asyncio.Event()
        self.contexts: list[RequestContext] = []

    async def count(self, request: Any, context: RequestContext) -> AsyncIterator[Any]:
        self.contexts.append(context)
        for n in range(1, request.count + 1):
            if request.fail_after and n > request.fail_after:
                raise errors.FailedPrecondition(f"tick {n} failed")
            yield self.pb.Tick(n=n, label=request.label)

    async def hang(self, request: Any, context: RequestContext) -> AsyncIterator[Any]:
        del context
        try:
            yield self.pb.Tick(n=1, label=request.label)
            self.hanging.set()
            await asyncio.Event().wait()
        except BaseException as ended:
            self.ended.append(type(ended))
            self.ended_event.set()
            raise

    async def sum(self, requests: AsyncIterator[Any], context: RequestContext) -> Any:
        del context
        return self.pb.Total(sum=sum([r.value async for r in requests]))


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Server-Sent Events as (event type, data) pairs; the type is "message" unless named."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        kind, data = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
        events.append((kind, json.loads("\n".join(data))))
    return events


def _spec(ticker: Ticker) -> Any:
    return ticker.toolkit.TICKER_SPEC


SSE = {"accept": "text/event-stream"}


async def test_sse_sends_each_reply_as_an_event_in_order(ticker: Ticker) -> None:
    service = TickerService(ticker.pb)
    async with open_server([(_spec(ticker), service)]) as server, client(server) as http:
        response = await http.get("/v1/count/3?label=a", headers=SSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert _events(response.text) == [
        ("message", {"n": 1, "label": "a"}),
        ("message", {"n": 2, "label": "a"}),
        ("message", {"n": 3, "label": "a"}),
    ]
    (context,) = service.contexts
    assert (context.transport, context.method) == ("http", "/httpstream.Ticker/Count")
    assert context.metadata["accept"] == "text/event-stream"


async def test_sse_ends_with_an_error_event_in_the_http_error_shape(ticker: Ticker) -> None:
    service = TickerService(ticker.pb)
    async with open_server([(_spec(ticker), service)]) as server, client(server) as http:
        response = await http.get("/v1/count/5?failAfter=2", headers=SSE)
    assert response.status_code == 200
    assert _events(response.text) == [
        ("message", {"n": 1}),
        ("message", {"n": 2}),
        (
            "error",
            {
                "code": 9,
                "message": "tick 3 failed",
                "details": [],
                "status": "Bad Request",
            },
        ),
    ]


async def test_sse_read_as_it_comes_by_a_streaming_client(ticker: Ticker) -> None:
    service = TickerService(ticker.pb)
    async with (
        open_server([(_spec(ticker), service)]) as server,
        client(server) as http,
        http.stream("GET", "/v1/hang?label=x", headers=SSE) as response,
    ):
        # The first event arrives while the implementation is still running.
        lines = response.aiter_lines()
        assert await anext(lines) == 'data: {"n":1,"label":"x"}'
        await service.hanging.wait()
        assert not service.ended


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/x-ndjson", "application/x-ndjson"),
        (None, "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/event-stream;q=0.5, application/x-ndjson", "application/x-ndjson"),
    ],
)
async def test_json_lines_in_grpc_gateway_framing(
    ticker: Ticker, accept: str | None, media_type: str
) -> None:
    service = TickerService(ticker.pb)
    headers = {"accept": accept} if accept is not None else {}
    async with open_server([(_spec(ticker), service)]) as server, client(server) as http:
        if accept is None:
            http.headers.pop("accept")
        response = await http.get("/v1/count/3?failAfter=2", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[:2] == [{"result": {"n": 1}}, {"result": {"n": 2}}]
    assert lines[2]["error"]["code"] == 9
    assert lines[2]["error"]["message"] == "tick 3 failed"
    assert len(lines) == 3


async def test_a_body_binding_is_transcoded_like_unary(ticker: Ticker) -> None:
    service = TickerService(ticker.pb)
    async with open_server([(_spec(ticker), service)]) as server, client(server) as http:
        response = await http.post("/v1/count", json={"count": 2, "label": "b"}, headers=SSE)
    assert _events(response.text) == [
        ("message", {"n": 1, "label": "b"}),
        ("message", {"n": 2, "label": "b"}),
    ]


async def test_client_disconnect_cancels_the_implementation(ticker: Ticker) -> None:
    service = TickerService(ticker.pb)
    async with open_server([(_spec(ticker), service)]) as server:
        async with client(server) as http, http.stream("GET", "/v1/hang", headers=SSE) as response:
            assert await anext(response.aiter_lines()) == 'data: {"n":1}'
            await service.hanging.wait()
        # The client is gone: the implementation is cancelled where it waits.
        async with asyncio.timeout(10):
            await service.ended_event.wait()
        assert service.ended == [asyncio.CancelledError]
        assert server.in_flight == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/v1/count/5000", "invalid request: 1 violation: count: must be greater than or equal"),
        ("/v1/count/abc", 'invalid field "count" in the URL path: expected an integer, got "abc"'),
    ],
)
async def test_a_bad_request_answers_400_json_before_any_stream(
    ticker: Ticker, url: str, message: str
) -> None:
    service = TickerService(ticker.pb)
    async with open_server([(_spec(ticker), service)]) as server, client(server) as http:
        response = await http.get(url, headers=SSE)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == 3
    assert message in body["message"]
    assert not service.contexts


async def test_the_grpc_timeout_header_ends_the_stream_with_deadline_exceeded(
    ticker: Ticker,
) -> None:
    service = TickerService(ticker.pb)
    headers = {**SSE, "grpc-timeout": "200m"}
    async with open_server([(_spec(ticker), service)]) as server, client(server) as http:
        response = await http.get("/v1/hang", headers=headers)
        assert _events(response.text) == [
            ("message", {"n": 1}),
            (
                "error",
                {
                    "code": 4,
                    "message": "deadline of 0.2s exceeded",
                    "details": [],
                    "status": "Gateway Timeout",
                },
            ),
        ]
        assert service.ended == [asyncio.CancelledError]
        bad = await http.get("/v1/hang", headers={"grpc-timeout": "soon"})
    assert bad.status_code == 400
    assert bad.json()["message"].startswith("invalid header \"grpc-timeout\": 'soon'")


async def test_stopping_the_server_ends_streams_with_unavailable(ticker: Ticker) -> None:
    service = TickerService(ticker.pb)
    async with open_server([(_spec(ticker), service)], stop_timeout=30) as server:
        async with client(server) as http, http.stream("GET", "/v1/hang", headers=SSE) as response:
            lines = response.aiter_lines()
            assert await anext(lines) == 'data: {"n":1}'
            await service.hanging.wait()
            stopping = asyncio.create_task(server.stop(30))
            rest = [line async for line in lines]
            await stopping
        assert rest[1:3] == ["event: error", rest[2]]
        error = json.loads(rest[2].removeprefix("data: "))
        assert (error["code"], error["message"]) == (14, "the server is stopping")
        assert service.ended == [asyncio.CancelledError]


async def test_client_streaming_methods_answer_501(ticker: Ticker) -> None:
    service = TickerService(ticker.pb)
    async with open_server([(_spec(ticker), service)]) as server, client(server) as http:
        response = await http.post("/v1/sum", json={"value": 1})
    assert response.status_code == 501
    assert response.json()["message"] == "client-streaming methods are not served over HTTP"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/event-stream", "text/event-stream"),
        ("application/x-ndjson;q=0.2, text/event-stream;q=0.9", "text/event-stream"),
        ("text/event-stream;q=0, application/json", "application/json"),
        ("application/jsonl", "application/jsonl"),
        ("text/html, */*;q=0.8", "application/json"),
        ("", "application/json"),
    ],
)
def test_the_format_follows_accept(accept: str, media_type: str) -> None:
    assert choose_format(accept).media_type == media_type


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ("5S", 5.0), ("100m", 0.1), ("2M", 120.0), ("1H", 3600.0), ("7u", 7e-6)],
)
def test_grpc_timeout_values(value: str | None, seconds: float | None) -> None:
    assert grpc_timeout(value) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize("value", ["", "5", "5s", "123456789S", "-1S", "1.5S"])
def test_grpc_timeout_refuses_what_grpc_refuses(value: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="grpc-timeout"):
        grpc_timeout(value)
