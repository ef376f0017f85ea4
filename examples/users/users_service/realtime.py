"""The "users" channel: browsers see every user created, over the centrifuge plugin's WebSocket.

The service's HTTP server serves the routes of the ``.proto`` file only, so
the centrifuge node gets a small listener of its own (``{PREFIX}_WS_SERVER_*``),
started once the plugins have started and stopped before they stop.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn
from pydantic import BaseModel
from starlette.applications import Starlette

from lbtoolkit.config import ListenAddress, Port, env
from users_service.gen import users_pb2
from users_service.gen.users_toolkit import RealtimePlugin

__all__ = ["CHANNEL", "RealtimeConfig", "RealtimeEndpoint"]

log = logging.getLogger("users.realtime")

CHANNEL = "users"
"""The channel every created user is published on."""


class RealtimeConfig(BaseModel):
    """``{PREFIX}_WS_SERVER_LISTEN`` and ``{PREFIX}_WS_SERVER_PORT``."""

    listen: ListenAddress = env(
        "WS_SERVER_LISTEN",
        default="0.0.0.0",  # noqa: S104 - a server's default, as the other servers'
        comment="Listen address of the WebSocket endpoint",
    )
    port: Port = env(
        "WS_SERVER_PORT",
        default=8084,
        comment="Port of the WebSocket endpoint (/connection/websocket); 0: any free port",
    )


class RealtimeEndpoint:
    """A package: serves the realtime node from ``on_start`` to ``on_stop``."""

    def __init__(self, realtime: RealtimePlugin, config: RealtimeConfig) -> None:
        self._realtime = realtime
        self._config = config
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None
        # Browsers only listen: the node's default refuses publishing by clients.
        realtime.node().on_subscribe(lambda _client, channel: channel == CHANNEL)

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._port is None:
            msg = "the WebSocket endpoint is not started"
            raise RuntimeError(msg)
        return self._port

    async def publish(self, user: users_pb2.User) -> None:
        """Tell the channel's subscribers about a new user."""
        await self._realtime.publish(
            CHANNEL, {"id": user.id, "email": user.email, "name": user.name}
        )

    async def on_start(self) -> None:
        family = socket.AF_INET6 if ":" in self._config.listen else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._config.listen, self._config.port))
        except OSError as error:
            sock.close()
            msg = (
                f"WebSocket endpoint: cannot listen on {self._config.listen}:{self._config.port}: "
                f"{error.strerror}. Hint: set the WS_SERVER_PORT variable of the service "
                "to a free port"
            )
            raise OSError(error.errno, msg) from error
        sock.listen(128)
        self._port = sock.getsockname()[1]
        app = Starlette(routes=[self._realtime.node().route])
        config = uvicorn.Config(app, lifespan="off", log_level="warning", log_config=None)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        # serve() binds nothing more; wait until it accepts, so start means ready.
        while not self._server.started:
            if self._task.done():
                await self._task
                msg = "WebSocket endpoint stopped while starting"
                raise RuntimeError(msg)
            await asyncio.sleep(0.01)
        log.info(
            "WebSocket endpoint on %s:%d%s (channel %r)",
            self._config.listen,
            self._port,
            self._realtime.node().path,
            CHANNEL,
        )

    async def on_stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
