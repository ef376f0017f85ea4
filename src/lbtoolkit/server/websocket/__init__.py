"""WebSocket endpoints of the HTTP server: ``websocket`` methods and ``websocket_proxy`` frames.

A method with ``option (toolkit.route).websocket = true`` is reached by a
WebSocket connection to the path of its ``get`` rule: the connection calls it
once, then carries JSON frames that call the service's ``websocket_proxy``
methods, which other services answer over gRPC. See ``docs/websocket.md``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.server.websocket._connection import Limits
from lbtoolkit.server.websocket._frames import (
    ClientFrame,
    FrameError,
    FrameId,
    error_frame,
    parse_request,
    reply_frame,
)
from lbtoolkit.server.websocket._routes import WebSocketRoutes, build_websocket_routes

__all__ = [
    "ClientFrame",
    "FrameError",
    "FrameId",
    "Limits",
    "WebSocketRoutes",
    "build_websocket_routes",
    "error_frame",
    "parse_request",
    "reply_frame",
]

export(__name__, __all__)
