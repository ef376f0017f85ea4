"""A real HTTP server for a node's route, and a small protocol client, for the tests."""

from __future__ import annotations

import asyncio
import json
import socket
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from lbtoolkit.testing import open_plugin

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.routing import BaseRoute

    from lbtoolkit.plugins.centrifuge import Plugin

TIMEOUT = 5.0  # seconds any single network step may take


@asynccontextmanager
async def serve(*routes: BaseRoute) -> AsyncIterator[str]:
    """Serve ``routes`` with uvicorn on 127.0.0.1, port 0; yield the ``ws://host:port`` base."""
    config = uvicorn.Config(
        Starlette(routes=list(routes)),
        host="127.0.0.1",
        port=0,
        ws="websockets-sansio",
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=int(TIMEOUT),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                if task.done():
                    await task  # re-raise why it could not start
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 2 * TIMEOUT)


@asynccontextmanager
async def running(plugin: Plugin) -> AsyncIterator[str]:
    """Start the plugin and serve its node; yield the endpoint's ``ws://`` URL."""
    async with open_plugin(plugin), serve(plugin.node().route) as base:
        yield base + plugin.node().path


class Peer:
    """A client of the wire protocol: commands with ids, pushes kept in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pushes: list[dict[str, Any]] = []
        self._next_id = 0

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command; return its reply (pushes seen meanwhile are kept)."""
        self._next_id += 1
        command_id = self._next_id
        await self.ws.send(json.dumps({"id": command_id, method: params or {}}))
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = json.loads(await self.ws.recv())
                if "push" in frame:
                    self.pushes.append(frame["push"])
                elif frame.get("id") == command_id:
                    return dict(frame)

    async def push(self) -> dict[str, Any]:
        """The next publication."""
        if self.pushes:
            return self.pushes.pop(0)
        async with asyncio.timeout(TIMEOUT):
            frame = json.loads(await self.ws.recv())
        assert "push" in frame, frame
        return dict(frame["push"])

    async def closed(self) -> tuple[int, str]:
        """Read until the server closes; return its close code and reason."""
        try:
            async with asyncio.timeout(TIMEOUT):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return (frame.code, frame.reason) if frame else (1006, "")
        raise AssertionError("the connection never closed")


@asynccontextmanager
async def open_peer(
    url: str, *, connect_params: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[Peer]:
    """Connect a WebSocket and send the connect command (unless ``connect_params`` is None)."""
    async with connect(url, open_timeout=TIMEOUT, close_timeout=1, **options) as ws:
        peer = Peer(ws)
        if connect_params is not None:
            reply = await peer.call("connect", connect_params)
            assert "connect" in reply, reply
        yield peer


def slow_socket(url: str) -> socket.socket:
    """A connected socket with a tiny receive buffer, for a client that never reads."""
    host, port = url.removeprefix("ws://").split("/", 1)[0].split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Set before connecting, so the advertised TCP window stays small.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    sock.connect((host, int(port)))
    return sock
