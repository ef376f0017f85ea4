"""The "users" channel: browsers see every user created, over the centrifuge plugin's WebSocket.

The centrifuge node is served on the service's HTTP port, at
``/connection/websocket``: :func:`mount_realtime` adds it to the HTTP server
beside the routes of the ``.proto`` file, and the server's drain closes its
connections at stop like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins.centrifuge import Node
from users_service.gen import users_pb2
from users_service.gen.users_toolkit import RealtimePlugin

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    import lbtoolkit

__all__ = ["CHANNEL", "PATH", "RealtimeEndpoint", "mount_realtime"]

CHANNEL = "users"
"""The channel every created user is published on."""

PATH = Node.path
"""Where browsers connect, on the HTTP server's port (``/connection/websocket``)."""


class RealtimeEndpoint:
    """A package: publishes new users on the channel and serves its WebSocket clients."""

    def __init__(self, realtime: RealtimePlugin) -> None:
        self._realtime = realtime
        # Browsers only listen: the node's default refuses publishing by clients.
        realtime.node().on_subscribe(lambda _client, channel: channel == CHANNEL)

    async def publish(self, user: users_pb2.User) -> None:
        """Tell the channel's subscribers about a new user."""
        await self._realtime.publish(
            CHANNEL, {"id": user.id, "email": user.email, "name": user.name}
        )

    async def serve(self, websocket: WebSocket) -> None:
        """Serve one client connection until it ends."""
        await self._realtime.node().serve(websocket)


def mount_realtime(app: lbtoolkit.Service) -> None:
    """Serve the realtime node at :data:`PATH` on ``app``'s HTTP server."""

    async def endpoint(websocket: WebSocket) -> None:
        # The package is built at start, after the route is declared: looked up
        # per connection (a lookup of an already built singleton).
        realtime = await app.runtime.injector.get(RealtimeEndpoint)
        await realtime.serve(websocket)

    app.server.http.add_websocket_route(PATH, endpoint)
