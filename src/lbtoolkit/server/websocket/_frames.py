"""The JSON frames of a WebSocket connection (see ``docs/websocket.md``).

Client to server: ``{"id": 1, "method": "SayHello", "payload": {...}}``; the
method is its .proto name or its full gRPC path (``/pkg.Service/Method``),
``id`` a string or number the answer carries back (optional), ``payload`` the
request message as JSON (optional: an empty request).

Server to client: ``{"id": 1, "payload": {...}}`` or
``{"id": 1, "error": {"code": "NOT_FOUND", "message": "..."}}``, ``code``
being a gRPC status code name. A streaming call's answers share its ``id``;
``{"id": 1, "end": true}`` says it ended well (client to server: no more
requests). Answers to the connection's own call (the
``websocket`` method run on connect) carry ``"id": null``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import grpc

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.server.http._transcode import encode_json

__all__ = [
    "ClientFrame",
    "FrameError",
    "FrameId",
    "end_frame",
    "error_frame",
    "parse_request",
    "reply_frame",
]

FrameId = str | int | float | None
"""What a frame's ``id`` may be: answers carry the id of the frame they answer."""


class FrameError(LbToolkitError, ValueError):
    """A client frame that cannot be read: answered with an ``INVALID_ARGUMENT`` frame."""

    def __init__(self, message: str, frame_id: FrameId = None) -> None:
        super().__init__(message)
        self.message = message
        self.frame_id = frame_id

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """A client frame: which method, with what payload, answered under which id."""

    frame_id: FrameId
    method: str
    payload: dict[str, Any]


def parse_request(text: str) -> ClientFrame:
    """Read a client frame; raises :class:`FrameError` saying what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FrameError(f"malformed JSON ({error})") from None
    if type(data) is not dict:
        raise FrameError("a frame is a JSON object")
    frame_id = data.get("id")
    # bool is an int to Python but not an id a client means to match answers with.
    if frame_id is not None and (
        isinstance(frame_id, bool)
        or not isinstance(frame_id, str | int | float)
        or (isinstance(frame_id, float) and not math.isfinite(frame_id))
    ):
        raise FrameError('"id" must be a string or a number')
    method = data.get("method")
    if type(method) is not str or not method:
        raise FrameError('"method" must name a method', frame_id)
    payload = data.get("payload")
    if payload is None:
        payload = {}
    elif type(payload) is not dict:
        raise FrameError('"payload" must be a JSON object', frame_id)
    return ClientFrame(frame_id, method, payload)


def reply_frame(frame_id: FrameId, payload: Any) -> str:
    """The frame answering ``frame_id`` with a reply (its JSON value)."""
    return encode_json({"id": frame_id, "payload": payload})


def end_frame(frame_id: FrameId) -> str:
    """The frame saying the streaming call ``frame_id`` ended without error."""
    return encode_json({"id": frame_id, "end": True})


def error_frame(frame_id: FrameId, code: grpc.StatusCode, message: str) -> str:
    """The frame answering ``frame_id`` with a gRPC status."""
    error = {"code": code.name, "message": message}
    return encode_json({"id": frame_id, "error": error})
