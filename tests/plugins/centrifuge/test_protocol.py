"""The JSON wire protocol: parsing commands, building frames."""

from __future__ import annotations

import json

import pytest

from lbtoolkit.plugins.centrifuge._protocol import (
    Command,
    FrameError,
    error_frame,
    parse_command,
    push_frame,
    reply_frame,
)


def test_a_command_has_an_id_a_method_and_parameters() -> None:
    frame = '{"id": 7, "subscribe": {"channel": "news"}}'
    assert parse_command(frame) == Command(7, "subscribe", {"channel": "news"})


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"id": 1, "connect": null}', Command(1, "connect", {})),
        ('{"id": 2, "presence": {}}', Command(2, None, {})),
        ('{"id": 3, "subscribe": {}, "publish": {}}', Command(3, None, {})),
    ],
)
def test_odd_but_answerable_commands(frame: str, expected: Command) -> None:
    assert parse_command(frame) == expected


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ("{", "frame is not JSON"),
        ("[1]", "frame is not a JSON object"),
        ('{"id": 0, "connect": {}}', "frame has no positive integer id"),
        ('{"id": true, "connect": {}}', "frame has no positive integer id"),
        ('{"id": "1", "connect": {}}', "frame has no positive integer id"),
        ('{"id": 1, "subscribe": "news"}', "subscribe parameters are not a JSON object"),
    ],
)
def test_frames_that_end_the_connection(frame: str, problem: str) -> None:
    with pytest.raises(FrameError, match=problem):
        parse_command(frame)


def test_replies_carry_the_command_id() -> None:
    assert reply_frame(3, "subscribe") == '{"id":3,"subscribe":{}}'
    assert json.loads(error_frame(3, 103, "permission denied")) == {
        "id": 3,
        "error": {"code": 103, "message": "permission denied"},
    }


def test_push_frames_embed_the_data_and_count_bytes() -> None:
    data = json.dumps({"text": "grüße"}, ensure_ascii=False).encode()
    frame, size = push_frame("café", data)
    assert json.loads(frame) == {"push": {"channel": "café", "pub": {"data": {"text": "grüße"}}}}
    assert size == len(frame.encode())
