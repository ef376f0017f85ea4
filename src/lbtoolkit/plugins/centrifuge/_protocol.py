"""The wire protocol: JSON text frames, one command or reply per frame.

Client to server: ``{"id": 1, "connect": {"token": "...", "data": ...}}``,
``{"id": 2, "subscribe": {"channel": "news"}}``, ``{"id": 3, "unsubscribe":
{"channel": "news"}}``, ``{"id": 4, "publish": {"channel": "news", "data": ...}}``.

Server to client: a reply per command, with the command's id and either the
method's result or an error: ``{"id": 2, "subscribe": {}}``, ``{"id": 2,
"error": {"code": 103, "message": "permission denied"}}``; and pushes without
id: ``{"push": {"channel": "news", "pub": {"data": ...}}}``. The names and
codes follow Centrifugo's, but this is not Centrifugo's protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BAD_REQUEST",
    "CHANNEL_MAX_LENGTH",
    "CONNECT_TIMEOUT",
    "INTERNAL",
    "METHODS",
    "SHUTDOWN",
    "SLOW",
    "UNAUTHORIZED",
    "Command",
    "Disconnect",
    "ErrorCode",
    "FrameError",
    "check_channel",
    "error_frame",
    "parse_command",
    "push_frame",
    "reply_frame",
]

METHODS = ("connect", "subscribe", "unsubscribe", "publish")
CHANNEL_MAX_LENGTH = 255


class ErrorCode:
    """Codes of error replies; the connection stays open."""

    INTERNAL = 100
    UNAUTHORIZED = 101
    PERMISSION_DENIED = 103
    METHOD_NOT_FOUND = 104
    ALREADY_SUBSCRIBED = 105
    LIMIT_EXCEEDED = 106
    BAD_REQUEST = 107


@dataclass(frozen=True, slots=True)
class Disconnect:
    """A WebSocket close code and reason the server ends a connection with."""

    code: int
    reason: str


# Close codes in the 3000-4999 range WebSocket leaves to applications.
SHUTDOWN = Disconnect(3001, "shutdown")
INTERNAL = Disconnect(3004, "internal server error")
SLOW = Disconnect(3008, "slow")
UNAUTHORIZED = Disconnect(3500, "unauthorized")
BAD_REQUEST = Disconnect(3501, "bad request")
CONNECT_TIMEOUT = Disconnect(3502, "connect timeout")


class FrameError(Exception):
    """A frame the connection cannot survive: not JSON, not an object, no id."""


@dataclass(frozen=True, slots=True)
class Command:
    """One client command: ``method`` is ``None`` when no known method was given."""

    id: int
    method: str | None
    params: dict[str, Any]


def parse_command(text: str) -> Command:
    """Read one frame; raise ``FrameError`` when it cannot even be answered."""
    try:
        frame = json.loads(text)
    except ValueError as error:
        raise FrameError(f"frame is not JSON: {error}") from None
    if not isinstance(frame, dict):
        raise FrameError("frame is not a JSON object")
    command_id = frame.get("id")
    if not isinstance(command_id, int) or isinstance(command_id, bool) or command_id <= 0:
        raise FrameError("frame has no positive integer id")
    methods = [m for m in METHODS if m in frame]
    if len(methods) != 1:
        return Command(command_id, None, {})
    params = frame[methods[0]]
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise FrameError(f"{methods[0]} parameters are not a JSON object")
    return Command(command_id, methods[0], params)


def check_channel(channel: object) -> str | None:
    """Why ``channel`` is no valid channel name, or ``None`` if it is one."""
    if not isinstance(channel, str) or not channel:
        return "channel must be a non-empty string"
    if len(channel) > CHANNEL_MAX_LENGTH:
        return f"channel is longer than {CHANNEL_MAX_LENGTH} characters"
    if not channel.isprintable():
        return "channel contains control characters"
    return None


def reply_frame(command_id: int, method: str, result: dict[str, Any] | None = None) -> str:
    """A successful reply to command ``command_id``."""
    return json.dumps({"id": command_id, method: result or {}}, separators=(",", ":"))


def error_frame(command_id: int, code: int, message: str) -> str:
    """An error reply to command ``command_id``."""
    error = {"code": code, "message": message}
    return json.dumps({"id": command_id, "error": error}, separators=(",", ":"))


def push_frame(channel: str, data: bytes) -> tuple[str, int]:
    """A publication as sent to every subscriber, and its size in bytes.

    ``data`` is JSON text already (checked when published), embedded as it is:
    the frame is built once per publication, not once per subscriber.
    """
    # json.dumps escapes every non-ASCII character, so the head is ASCII.
    head = '{"push":{"channel":' + json.dumps(channel) + ',"pub":{"data":'
    tail = "}}}"
    text = head + data.decode() + tail
    return text, len(head) + len(data) + len(tail)
