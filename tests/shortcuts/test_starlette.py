"""What the Starlette shortcuts assume of Starlette, checked against the installed release."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from lbtoolkit._shortcuts._starlette import JsonReply, read_body

Message = MutableMapping[str, Any]


def request_of(*messages: Message, headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    sent = list(messages)

    async def receive() -> Message:
        return sent.pop(0)

    return Request({"type": "http", "method": "POST", "headers": headers or []}, receive)


def part(body: bytes, *, more: bool) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


def test_a_new_request_has_neither_read_nor_streamed_its_body() -> None:
    # read_body takes its own way only on this state; renamed, every body
    # would silently go through Starlette's slower way.
    request = request_of(part(b"x", more=False))
    assert request.__dict__.get("_stream_consumed") is False
    assert "_body" not in request.__dict__


async def test_starlette_keeps_a_body_it_read_where_read_body_looks() -> None:
    request = request_of(part(b"x", more=False))
    assert await request.body() == b"x"
    assert request.__dict__["_body"] == b"x"


async def test_a_body_read_once_is_given_again_by_body_and_stream() -> None:
    request = request_of(part(b'{"a": 1}', more=False))
    assert await read_body(request) == b'{"a": 1}'
    assert await request.body() == b'{"a": 1}'
    assert b"".join([chunk async for chunk in request.stream()]) == b'{"a": 1}'
    assert await request.json() == {"a": 1}


async def test_a_body_in_several_messages_is_joined() -> None:
    request = request_of(part(b"ab", more=True), part(b"", more=True), part(b"c", more=False))
    assert await read_body(request) == b"abc"
    assert await request.body() == b"abc"


async def test_a_body_whose_declared_length_is_in_is_not_read_further() -> None:
    # granian's way: the whole body with more_body set, then an empty last
    # message. Nothing is left to wait for: the next receive is not made.
    request = request_of(part(b"abc", more=True), headers=[(b"content-length", b"3")])
    assert await read_body(request) == b"abc"
    assert await request.body() == b"abc"


@pytest.mark.parametrize("length", [b"4", b"", b"+3", b"three", b"\xb3"])
async def test_a_body_short_of_its_declared_length_is_read_on(length: bytes) -> None:
    request = request_of(
        part(b"abc", more=True), part(b"d", more=False), headers=[(b"content-length", length)]
    )
    assert await read_body(request) == b"abcd"


async def test_a_body_read_by_starlette_first_is_not_read_again() -> None:
    request = request_of(part(b"x", more=False))
    await request.body()
    assert await read_body(request) == b"x"


async def test_a_client_gone_before_the_end_of_its_body_is_a_disconnect() -> None:
    request = request_of(part(b"ab", more=True), {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnect):
        await read_body(request)


async def test_a_request_subclass_is_left_to_starlette() -> None:
    class Recorded(Request):
        async def body(self) -> bytes:
            return b"recorded"

    request = Recorded({"type": "http", "method": "POST", "headers": []})
    assert await read_body(request) == b"recorded"


def test_a_json_reply_is_the_response_starlette_builds() -> None:
    # Response.__init__ is skipped: anything more it sets would be missing.
    body = b'{"id": "1"}'
    built = Response(body, media_type="application/json")
    reply = JsonReply(body)
    assert {name: getattr(reply, name) for name in vars(built)} == vars(built)


async def test_a_json_reply_is_sent_as_starlette_sends_it() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "GET", "headers": []}
    await JsonReply(b"{}")(scope, receive, send)
    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"2"), (b"content-type", b"application/json")],
        },
        {"type": "http.response.body", "body": b"{}"},
    ]
