"""The planned JSON codec against ``google.protobuf.json_format``, both ways."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.protobuf.wrappers_pb2 import (
    BoolValue,
    BytesValue,
    DoubleValue,
    FloatValue,
    Int32Value,
    Int64Value,
    StringValue,
    UInt32Value,
    UInt64Value,
)

from lbtoolkit.server.http._codec import Codecs
from lbtoolkit.server.http._errors import InvalidValue

pytestmark = pytest.mark.no_engine  # no server starts: the engine cannot matter

Sample = Callable[[SimpleNamespace], Message]


def _struct() -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update({"a": 1.5, "b": [True, None, "x"], "c": {"d": "e"}})
    return value


def _any_of(message: Message) -> AnyMessage:
    packed = AnyMessage()
    packed.Pack(message)
    return packed


SAMPLES: dict[str, Sample] = {
    "scalars-empty": lambda pb: pb.shapes.Scalars(),
    "scalars-all": lambda pb: pb.shapes.Scalars(
        i32=-5,
        i64=1234567890123,
        u32=7,
        u64=2**64 - 1,
        s32=-(2**31),
        s64=-(2**63),
        f32=2**32 - 1,
        f64=2**63,
        sf32=2**31 - 1,
        sf64=2**63 - 1,
        fl=0.1,
        db=1e300,
        flag=True,
        text='héllo ☃ \n "quoted"',
        data=bytes(range(256)),
        color=pb.shapes.GREEN,
        snake_case_name="snake",
        field_with_json_name=9,
    ),
    "scalars-special-floats": lambda pb: pb.shapes.Scalars(fl=math.inf, db=-math.inf),
    "scalars-nan": lambda pb: pb.shapes.Scalars(fl=math.nan, db=math.nan),
    "scalars-unknown-enum-number": lambda pb: pb.shapes.Scalars(color=7),
    "scalars-float32-noise": lambda pb: pb.shapes.Scalars(fl=3.14159, db=-0.0),
    "repeated": lambda pb: pb.shapes.Repeated(
        i32=[1, -2],
        i64=[0, 2**62],
        fl=[0.5, math.inf],
        db=[1.25, math.nan],
        flags=[True, False],
        texts=["", "b"],
        blobs=[b"", b"\x01\x02"],
        colors=[pb.shapes.RED, 9],
        items=[pb.shapes.Scalars(), pb.shapes.Scalars(i64=3)],
        u64=[2**64 - 1],
    ),
    "maps": lambda pb: pb.shapes.Maps(
        labels={"a": "b", "": "empty"},
        counts={-1: 2**40, 3: 0},
        items={5: pb.shapes.Scalars(text="x"), -6: pb.shapes.Scalars()},
        flags={True: pb.shapes.RED, False: pb.shapes.COLOR_UNSPECIFIED},
        blobs={1: b"\xff"},
        values={
            "n": struct_pb2.Value(null_value=struct_pb2.NULL_VALUE),
            "s": struct_pb2.Value(string_value="v"),
        },
        ratios={-(2**62): 0.25},
        times={"t": Timestamp(seconds=1, nanos=10)},
    ),
    "recursive": lambda pb: pb.shapes.Node(
        name="root",
        children=[pb.shapes.Node(name="a", children=[pb.shapes.Node(name="a1")])],
        parent=pb.shapes.Node(name="up", parent=pb.shapes.Node()),
    ),
    "oneof-text": lambda pb: pb.shapes.Choice(text=""),
    "oneof-number": lambda pb: pb.shapes.Choice(number=2**60),
    "oneof-message": lambda pb: pb.shapes.Choice(scalars=pb.shapes.Scalars(i32=1)),
    "oneof-empty-message": lambda pb: pb.shapes.Choice(nothing={}),
    "optional-zero-values": lambda pb: pb.shapes.Choice(maybe=0, maybe_text="", maybe_color=0),
    "well-known": lambda pb: pb.shapes.Known(
        at=Timestamp(seconds=1_700_000_000, nanos=123_000_000),
        took=Duration(seconds=-3, nanos=-500_000_000),
        mask=FieldMask(paths=["a.b_c", "d"]),
        meta=_struct(),
        any_value=struct_pb2.Value(
            list_value=struct_pb2.ListValue(values=[struct_pb2.Value(number_value=1)])
        ),
        list=struct_pb2.ListValue(values=[struct_pb2.Value(bool_value=False)]),
        payload=_any_of(pb.shapes.Scalars(i64=5, color=pb.shapes.RED)),
        big=Int64Value(value=2**62),
        name=StringValue(value="n"),
        ok=BoolValue(value=True),
        raw=BytesValue(value=b"\x00"),
        ratio=DoubleValue(value=math.inf),
        fraction=FloatValue(value=0.3),
        small=UInt32Value(value=4),
        empty={},
        times=[Timestamp(seconds=0), Timestamp(seconds=86400)],
        nothing=0,
        values=[
            struct_pb2.Value(null_value=struct_pb2.NULL_VALUE),
            struct_pb2.Value(number_value=2),
        ],
        huge=UInt64Value(value=2**64 - 1),
        medium=Int32Value(value=-1),
    ),
    "well-known-zero-wrappers": lambda pb: pb.shapes.Known(
        big=Int64Value(), name=StringValue(), ok=BoolValue(), any_value={"null_value": 0}
    ),
    "any-of-well-known": lambda pb: pb.shapes.Known(payload=_any_of(Duration(seconds=5))),
    "proto2-unset-defaults": lambda pb: pb.legacy.Settings(),
    "proto2-set-to-defaults": lambda pb: pb.legacy.Settings(retries=3, label="none", level=2),
    "proto2-values": lambda pb: pb.legacy.Settings(
        retries=0, ids=[1, 2], nested=pb.legacy.Settings(label="in")
    ),
}


def _with_extension(pb: SimpleNamespace) -> Message:
    settings: Message = pb.legacy.Settings(retries=1)
    settings.Extensions[pb.legacy.note] = "extended"
    return settings


SAMPLES["proto2-extension"] = _with_extension


def same(a: Message, b: Message) -> bool:
    """Equal messages, NaN included (compared by their bytes)."""
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


@pytest.mark.parametrize("proto_names", [False, True], ids=["json-names", "proto-names"])
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_dump_equals_json_format(protos: SimpleNamespace, sample: str, proto_names: bool) -> None:
    message = SAMPLES[sample](protos)
    codec = Codecs(proto_names=proto_names).of_class(type(message))
    expected = json_format.MessageToDict(message, preserving_proto_field_name=proto_names)
    assert codec.dump(message) == expected


@pytest.mark.parametrize("proto_names", [False, True], ids=["json-names", "proto-names"])
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_load_equals_json_format(protos: SimpleNamespace, sample: str, proto_names: bool) -> None:
    message = SAMPLES[sample](protos)
    data = json_format.MessageToDict(message, preserving_proto_field_name=proto_names)
    codec = Codecs().of_class(type(message))
    loaded = codec.load(data)
    assert same(loaded, json_format.ParseDict(data, type(message)()))
    assert same(loaded, message)


# Inputs json_format accepts though it never writes them.
LENIENT_INPUTS: list[tuple[str, dict[str, Any]]] = [
    ("Scalars", {"i32": "12", "i64": 12, "u64": "18446744073709551615", "fl": "1.5"}),
    ("Scalars", {"db": "-Infinity", "fl": "NaN", "i32": 1.0, "i64": "1e3", "sf32": "-7"}),
    ("Scalars", {"data": "AP8", "color": 2, "snake_case_name": "x", "customName": 3}),
    ("Scalars", {"data": "-_8=", "color": "RED", "field_with_json_name": 4, "db": 7}),
    ("Scalars", {"i32": None, "text": None, "color": None}),
    ("Repeated", {"colors": ["RED", 2], "i64": ["1", 2], "fl": ["Infinity", 1]}),
    ("Repeated", {"items": [{}, {"i64": 4}], "blobs": ["AA", "AAE="]}),
    ("Maps", {"counts": {"1": "2", "-3": 4}, "flags": {"true": "GREEN", "false": 1}}),
    ("Maps", {"values": {"n": None, "l": [1, "a"]}, "items": {"7": {"u64": "1"}}}),
    ("Choice", {"text": "x", "number": None}),
    ("Choice", {"nothing": {}, "maybe": 0, "maybeText": ""}),
    ("Known", {"at": "2024-01-02T03:04:05.5+01:00", "took": "1.5s", "mask": "a.b,cD"}),
    ("Known", {"big": 5, "huge": "18446744073709551615", "ok": False, "nothing": None}),
    ("Known", {"anyValue": None, "values": [None, 1, "x", {"a": [True]}], "empty": {}}),
    ("Known", {"meta": {"k": {"n": None}}, "list": [], "medium": "-3", "fraction": "NaN"}),
    (
        "Known",
        {"payload": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1s"}},
    ),
]


@pytest.mark.parametrize(("message", "data"), LENIENT_INPUTS)
def test_load_accepts_what_json_format_accepts(
    protos: SimpleNamespace, message: str, data: dict[str, Any]
) -> None:
    message_class = getattr(protos.shapes, message)
    loaded = Codecs().of_class(message_class).load(data)
    assert same(loaded, json_format.ParseDict(data, message_class()))


# Inputs both refuse; the codec says where.
BAD_INPUTS: list[tuple[str, Any, str]] = [
    ("Scalars", {"i32": "abc"}, "i32"),
    ("Scalars", {"i32": 1.5}, "i32"),
    ("Scalars", {"i32": 2**31}, "i32"),
    ("Scalars", {"u32": -1}, "u32"),
    ("Scalars", {"u64": 2**64}, "u64"),
    ("Scalars", {"i64": True}, "i64"),
    ("Scalars", {"flag": "true"}, "flag"),
    ("Scalars", {"flag": 1}, "flag"),
    ("Scalars", {"text": 5}, "text"),
    ("Scalars", {"text": "\ud800"}, "text"),
    ("Scalars", {"data": 5}, "data"),
    ("Scalars", {"color": "PURPLE"}, "color"),
    ("Scalars", {"color": [1]}, "color"),
    ("Scalars", {"fl": 1e39}, "fl"),
    ("Scalars", {"fl": math.inf}, "fl"),
    ("Scalars", {"db": "abc"}, "db"),
    ("Scalars", {"db": "nan"}, "db"),
    ("Scalars", {"nope": 1}, "nope"),
    ("Scalars", ["i32"], ""),
    ("Scalars", "text", ""),
    ("Repeated", {"i32": 5}, "i32"),
    ("Repeated", {"i32": [1, None]}, "i32[1]"),
    ("Repeated", {"items": [{}, {"i32": "x"}]}, "items[1].i32"),
    ("Maps", {"counts": {"x": 1}}, "counts[x]"),
    ("Maps", {"flags": {"yes": "RED"}}, "flags[yes]"),
    ("Maps", {"labels": {"a": 1}}, "labels[a]"),
    ("Maps", {"items": {"1": {"text": 2}}}, "items[1].text"),
    ("Maps", {"counts": []}, "counts"),
    ("Node", {"children": [{"parent": {"name": 1}}]}, "children[0].parent.name"),
    ("Choice", {"text": "a", "number": 1}, "number"),
    ("Known", {"at": "yesterday"}, "at"),
    ("Known", {"took": 5}, "took"),
    ("Known", {"big": "x"}, "big"),
    ("Known", {"meta": []}, "meta"),
    ("Known", {"times": ["2024-01-01T00:00:00Z", "never"]}, "times[1]"),
]


@pytest.mark.parametrize(("message", "data", "field"), BAD_INPUTS)
def test_load_refuses_what_json_format_refuses(
    protos: SimpleNamespace, message: str, data: Any, field: str
) -> None:
    message_class = getattr(protos.shapes, message)
    with pytest.raises(Exception):  # noqa: B017, PT011 - json_format raises several types
        json_format.ParseDict(data, message_class())
    with pytest.raises(InvalidValue) as raised:
        # Strict, as json_format is by default: unknown fields are refused too.
        Codecs(strict=True).of_class(message_class).load(data)
    assert raised.value.field == field


def test_errors_say_what_was_expected(protos: SimpleNamespace) -> None:
    codec = Codecs().of_class(protos.shapes.Repeated)
    with pytest.raises(InvalidValue) as raised:
        codec.load({"items": [{}, {"color": "PURPLE"}]})
    assert raised.value.field == "items[1].color"
    assert raised.value.detail == 'unknown value "PURPLE" of enum httptest.shapes.Color'


def test_one_codec_per_type_and_recursion_is_planned_once(protos: SimpleNamespace) -> None:
    codecs = Codecs()
    node = codecs.of_class(protos.shapes.Node)
    assert codecs.of_class(protos.shapes.Node) is node
    assert node.fields["children"].element is node
