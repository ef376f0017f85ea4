"""Starlette: reading a request body sent in one ASGI message, writing a JSON answer.

Relies on ``Request._body`` (where ``Request.body()`` keeps a body once read,
and where ``stream()`` finds it again), ``Request._stream_consumed``, and on
``Response.__init__`` doing nothing but set the attributes ``JsonReply`` sets.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

__all__ = ["JsonReply", "read_body"]


class JsonReply(Response):
    """A 200 JSON answer with its two headers written directly.

    The same response Starlette's ``Response(body, media_type="application/json")``
    builds, without re-deciding per request which headers it needs.
    """

    media_type = "application/json"

    # Response.__init__ is not called: it would re-derive the headers set here.
    def __init__(self, body: bytes) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]


async def read_body(request: Request) -> bytes:
    """``await request.body()``, reading a body sent in one message straight from ``receive``.

    Starlette's ``body()`` goes through an async generator even for the single
    message most bodies arrive in. A request a middleware replaced, read or
    streamed already takes Starlette's way, as does a body in several messages.
    A first message holding every byte ``content-length`` announced is the
    whole body, whatever its ``more_body`` says: granian sets it on every
    chunk and ends with an empty message, a second trip through its Rust
    runtime for nothing.
    """
    if (
        type(request) is not Request
        or "_body" in request.__dict__
        or request.__dict__.get("_stream_consumed", True)
    ):
        return await request.body()
    message = await request.receive()
    if message["type"] != "http.request" or (
        message.get("more_body", False)
        and not _declared_length_arrived(request, message.get("body", b""))
    ):
        chunks = [message.get("body", b"")] if message["type"] == "http.request" else []
        while message["type"] == "http.request" and message.get("more_body", False):
            message = await request.receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        body = b"".join(chunks)
    else:
        body = message.get("body", b"")
    # Where Starlette keeps a body it has read, so body() and stream() give it again.
    request._body = body
    return body


def _declared_length_arrived(request: Request, chunk: bytes) -> bool:
    declared = request.headers.get("content-length", "")
    # isdecimal, not isdigit: a superscript digit (latin-1 \xb2) is a digit int() refuses.
    return declared.isdecimal() and int(declared) == len(chunk)
