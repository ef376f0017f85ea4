"""Validation rules on WebSocket routes: the connect request and each proxied frame.

A connect request breaking its rules gets one ``INVALID_ARGUMENT`` error frame
and the connection is closed with 1008, before the ``websocket`` method runs;
a proxied frame breaking its rules gets an ``INVALID_ARGUMENT`` answer with its
``id``, never reaches the upstream, and the connection stays open. With
``{PREFIX}_VALIDATION_ENABLED=false`` both go through unchecked.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

import lbtoolkit
from lbtoolkit.codegen import generate_package
from lbtoolkit.server import RequestContext
from lbtoolkit.testing import open_service

PROTOS = Path(__file__).parent / "protos"
GATEWAY_PREFIX = "WSVAL"
# The upstream checks nothing itself, so whatever the gateway lets through reaches it.
UPSTREAM_PREFIX = "WSVALUP"
SHORT_ROOM = "invalid request: 1 violation: room: must be at least 3 characters [string.min_len]"


@dataclass(frozen=True)
class Generated:
    chat: ModuleType
    chat_pb2: ModuleType


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    root = tmp_path_factory.mktemp("wsval")
    generate_package([PROTOS / "wsval" / "chat.proto"], include=[PROTOS], out=root / "wsval_gen")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        yield Generated(
            importlib.import_module("wsval_gen.wsval.chat_toolkit"),
            importlib.import_module("wsval_gen.wsval.chat_pb2"),
        )


@dataclass
class Calls:
    joined: list[tuple[str, int]] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)


class Chat:
    def __init__(self, messages: ModuleType, calls: Calls) -> None:
        self._messages = messages
        self._calls = calls

    async def join(self, request: Any, context: RequestContext) -> Any:
        del context
        self._calls.joined.append((request.room, request.history))
        return self._messages.JoinReply(room=request.room)


class Board:
    def __init__(self, messages: ModuleType, calls: Calls) -> None:
        self._messages = messages
        self._calls = calls

    async def post(self, request: Any, context: RequestContext) -> Any:
        del context
        self._calls.posted.append(request.text)
        return self._messages.PostReply(text=request.text)


@asynccontextmanager
async def gateway(gen: Generated, *, validation: bool = True) -> AsyncIterator[tuple[str, Calls]]:
    """The Chat gateway and its Board upstream running; yields the gateway's ws:// base."""
    calls = Calls()
    board: lbtoolkit.Service = gen.chat.new_board_service(
        "board",
        env_prefix=UPSTREAM_PREFIX,
        environ={
            f"{UPSTREAM_PREFIX}_PROBES_SERVER_ENABLED": "false",
            f"{UPSTREAM_PREFIX}_BOARD_GRPC_SERVER_LISTEN": "127.0.0.1",
            f"{UPSTREAM_PREFIX}_BOARD_GRPC_SERVER_PORT": "0",
            f"{UPSTREAM_PREFIX}_VALIDATION_ENABLED": "false",
        },
        argv=[],
    )
    gen.chat.register_board_rpc_server(board, lambda: Board(gen.chat_pb2, calls))
    async with open_service(board):
        chat: lbtoolkit.Service = gen.chat.new_chat_service(
            "chat",
            env_prefix=GATEWAY_PREFIX,
            environ={
                f"{GATEWAY_PREFIX}_PROBES_SERVER_ENABLED": "false",
                f"{GATEWAY_PREFIX}_CHAT_SERVER_LISTEN": "127.0.0.1",
                f"{GATEWAY_PREFIX}_CHAT_SERVER_PORT": "0",
                f"{GATEWAY_PREFIX}_CLIENT_BOARD_TARGET": f"127.0.0.1:{board.server.grpc.port}",
                f"{GATEWAY_PREFIX}_VALIDATION_ENABLED": str(validation).lower(),
            },
            argv=[],
        )
        gen.chat.register_chat_rpc_server(chat, lambda: Chat(gen.chat_pb2, calls))
        async with open_service(chat):
            yield f"ws://127.0.0.1:{chat.server.http.port}", calls


async def frame(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await ws.recv())
    return data


async def post(ws: ClientConnection, frame_id: int, text: str) -> dict[str, Any]:
    await ws.send(json.dumps({"id": frame_id, "method": "Post", "payload": {"text": text}}))
    return await frame(ws)


async def test_an_invalid_connect_request_is_refused_before_the_method_runs(
    generated: Generated,
) -> None:
    async with (
        gateway(generated) as (base, calls),
        websockets.connect(f"{base}/rooms/ab?history=7") as ws,
    ):
        answer = await frame(ws)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert answer == {"id": None, "error": {"code": "INVALID_ARGUMENT", "message": SHORT_ROOM}}
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert calls.joined == []


async def test_every_violation_of_the_connect_request_is_named(generated: Generated) -> None:
    async with (
        gateway(generated) as (base, _),
        websockets.connect(f"{base}/rooms/ab?history=51") as ws,
    ):
        answer = await frame(ws)
    message = answer["error"]["message"]
    assert message.startswith("invalid request: 2 violations: ")
    assert "room: " in message
    assert "[string.min_len]" in message
    assert "history: " in message
    assert "[int32.lte]" in message


async def test_a_valid_connect_request_and_frame_reach_the_handler_and_the_upstream(
    generated: Generated,
) -> None:
    async with (
        gateway(generated) as (base, calls),
        websockets.connect(f"{base}/rooms/lobby?history=50") as ws,
    ):
        joined = await frame(ws)
        posted = await post(ws, 1, "hi there")
    assert joined == {"id": None, "payload": {"room": "lobby"}}
    assert posted == {"id": 1, "payload": {"text": "hi there"}}
    assert calls.joined == [("lobby", 50)]
    assert calls.posted == ["hi there"]


async def test_an_invalid_frame_is_answered_unsent_and_the_connection_stays_open(
    generated: Generated,
) -> None:
    async with (
        gateway(generated) as (base, calls),
        websockets.connect(f"{base}/rooms/lobby") as ws,
    ):
        await frame(ws)  # the connect call's answer
        refused = await post(ws, 7, "far too long a message")
        empty = await post(ws, 8, "")
        accepted = await post(ws, 9, "short")
    assert refused["id"] == 7
    assert refused["error"]["code"] == "INVALID_ARGUMENT"
    assert refused["error"]["message"].startswith("invalid request: 1 violation: text: ")
    assert refused["error"]["message"].endswith("[string.max_len]")
    assert empty["error"]["message"].endswith("[string.min_len]")
    assert accepted == {"id": 9, "payload": {"text": "short"}}
    # Only the valid frame cost an upstream call.
    assert calls.posted == ["short"]


async def test_with_validation_off_invalid_requests_go_through(generated: Generated) -> None:
    async with (
        gateway(generated, validation=False) as (base, calls),
        websockets.connect(f"{base}/rooms/ab?history=99") as ws,
    ):
        joined = await frame(ws)
        posted = await post(ws, 1, "far too long a message")
    assert joined == {"id": None, "payload": {"room": "ab"}}
    assert posted == {"id": 1, "payload": {"text": "far too long a message"}}
    assert calls.joined == [("ab", 99)]
    assert calls.posted == ["far too long a message"]
