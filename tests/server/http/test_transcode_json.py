"""Bodies read and replies written with pydantic's JSON parser and encoder, as ``json`` would."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from google.protobuf.wrappers_pb2 import DoubleValue, Int64Value
from pydantic_core import from_json, to_json

from lbtoolkit.server.http._codec import Codecs, writes_floats
from lbtoolkit.server.http._transcode import encode_json

pytestmark = pytest.mark.no_engine  # no server starts: the engine cannot matter

pytestmark = pytest.mark.no_engine  # no server starts: the engine cannot matter

EVERY_BMP_CHARACTER = "".join(chr(c) for c in range(0xD800)) + "".join(
    chr(c) for c in range(0xE000, 0x10000)
)


@pytest.mark.parametrize(
    "value",
    [
        EVERY_BMP_CHARACTER,
        "astral \U0001f600 \U0010ffff",
        {"a": [1, -2, 2**31, -(2**63), 2**64 - 1, 2**70, True, False, None]},
        {"": [], "nested": {"k": [{"x": "\x00\x1f\x7f\u2028"}]}},
        [],
    ],
)
def test_to_json_writes_what_encode_json_writes_without_floats(value: object) -> None:
    assert to_json(value) == encode_json(value).encode()


def test_to_json_spells_floats_its_own_way() -> None:
    # Why replies that may hold a float keep encode_json: the bytes differ.
    assert to_json(1.5e-7) != encode_json(1.5e-7).encode()


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "w", "tags": ["a", "b"], "f": 0.1, "big": 123456789012345678901234567890}',
        b'["\\u00e9", "\\ud83d\\ude00", -0.0, 1e400, NaN, {"a": 1, "a": 2}]',
        b'{"\\u0000": 9007199254740993}',
    ],
)
def test_from_json_reads_what_json_reads(body: bytes) -> None:
    assert repr(from_json(body)) == repr(json.loads(body))


@pytest.mark.parametrize(
    "body",
    [b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), b'"\\ud800"', b"[" * 300 + b"]" * 300],
)
def test_from_json_refuses_what_json_reads_differently(body: bytes) -> None:
    # The bodies the parser hands back to json.loads, which reads them.
    json.loads(body)
    with pytest.raises(ValueError, match=r"."):
        from_json(body)


def test_writes_floats_finds_every_float(protos: SimpleNamespace) -> None:
    codecs = Codecs()
    shapes, users = protos.shapes, protos.users
    assert writes_floats(codecs.of_class(shapes.Scalars))
    assert writes_floats(codecs.of_class(shapes.Repeated))
    assert writes_floats(codecs.of_class(shapes.Maps))  # map<sint64, double>
    assert writes_floats(codecs.of_class(shapes.Choice))  # through Scalars, in a oneof
    assert writes_floats(codecs.of_class(shapes.Known))  # Struct, DoubleValue...
    assert writes_floats(codecs.of_class(Struct))
    assert writes_floats(codecs.of_class(DoubleValue))
    assert not writes_floats(codecs.of_class(Int64Value))
    assert not writes_floats(codecs.of_class(Timestamp))
    assert not writes_floats(codecs.of_class(shapes.Node))  # recursive, strings only
    assert not writes_floats(codecs.of_class(users.Address))
    user = codecs.of_class(users.User)
    assert writes_floats(user)  # double score
    assert not writes_floats(user, user.fields["tags"])
    assert writes_floats(
        codecs.of_class(shapes.Scalars), codecs.of_class(shapes.Scalars).fields["db"]
    )
