"""Scalar fields between protobuf values, JSON values and URL text.

Each function here is chosen once per field when a message is planned, so a
request pays for one call per field and no type dispatch. The rules follow
protobuf's JSON mapping as ``google.protobuf.json_format`` applies it: 64-bit
integers are written as strings and read from numbers or strings, bytes are
base64, floats may be ``"NaN"``/``"Infinity"``/``"-Infinity"``, enums are
written by name and read by name or number.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor

from lbtoolkit.server.http._errors import InvalidValue

__all__ = [
    "Dump",
    "Load",
    "describe",
    "json_dumper",
    "json_loader",
    "map_key_loader",
    "text_loader",
]

Load = Callable[[Any], Any]
Dump = Callable[[Any], Any] | None  # None: the value is JSON already

_FD = FieldDescriptor
_INT_RANGES: dict[int, tuple[int, int, str]] = {
    _FD.TYPE_INT32: (-(2**31), 2**31 - 1, "int32"),
    _FD.TYPE_SINT32: (-(2**31), 2**31 - 1, "sint32"),
    _FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1, "sfixed32"),
    _FD.TYPE_UINT32: (0, 2**32 - 1, "uint32"),
    _FD.TYPE_FIXED32: (0, 2**32 - 1, "fixed32"),
    _FD.TYPE_INT64: (-(2**63), 2**63 - 1, "int64"),
    _FD.TYPE_SINT64: (-(2**63), 2**63 - 1, "sint64"),
    _FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1, "sfixed64"),
    _FD.TYPE_UINT64: (0, 2**64 - 1, "uint64"),
    _FD.TYPE_FIXED64: (0, 2**64 - 1, "fixed64"),
}
_INT64_TYPES = frozenset(
    {_FD.TYPE_INT64, _FD.TYPE_SINT64, _FD.TYPE_SFIXED64, _FD.TYPE_UINT64, _FD.TYPE_FIXED64}
)
# Halfway between the largest finite float32 and the next power of two:
# anything below rounds to a finite float32. json_format refuses what is
# above the largest float32 itself, and so cannot read back the shortest
# text of that float32 (3.4028235e+38) it writes; Go's protojson, like this
# codec, can.
_FLOAT_LIMIT = float.fromhex("0x1.ffffffp+127")
_FLOAT32 = struct.Struct("<f")
_SHOWN = 40  # characters of a bad string value quoted in an error
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# strconv.ParseBool's words, as the Go toolkit reads booleans from URLs.
_TEXT_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}


def describe(value: object) -> str:  # noqa: PLR0911 - one return per JSON type
    """Name a JSON value for an error message: ``"abc"``, ``12``, ``an object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "..."
        return '"' + shown.replace('"', '\\"') + '"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


# --- integers -----------------------------------------------------------------


def _coerce_int(value: object) -> int:
    # json_format's rules: integral floats and decimal strings (also "1e3") pass.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidValue(f"expected an integer, got {describe(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidValue(f"expected an integer, got {describe(value)}")
        return int(value)
    if isinstance(value, str):
        if " " in value:
            raise InvalidValue(f"expected an integer, got {describe(value)}")
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise InvalidValue(f"expected an integer, got {describe(value)}") from None
            if not number.is_integer():
                raise InvalidValue(f"expected an integer, got {describe(value)}") from None
            return int(number)
    return value


def _int_loader(field_type: int) -> Load:
    low, high, name = _INT_RANGES[field_type]

    def load(value: Any) -> int:
        if type(value) is not int:
            value = _coerce_int(value)
        if low <= value <= high:
            return int(value)
        raise InvalidValue(f"{value} is out of range for {name}")

    return load


# --- floats -------------------------------------------------------------------


def _float_loader(single: bool) -> Load:
    def load(value: Any) -> float:
        if type(value) is float or type(value) is int:
            number = float(value)
            if number - number != 0:  # NaN or infinity from a JSON literal
                raise InvalidValue(f'expected a number, got {value}; write "{_spell(number)}"')
        elif isinstance(value, str):
            number = _SPECIAL_FLOATS.get(value, 0.0)
            if value not in _SPECIAL_FLOATS:
                if value.lower() == "nan":
                    raise InvalidValue(f'expected a number, got {describe(value)}; write "NaN"')
                try:
                    number = float(value)
                except ValueError:
                    raise InvalidValue(f"expected a number, got {describe(value)}") from None
            return number
        else:
            raise InvalidValue(f"expected a number, got {describe(value)}")
        if single and abs(number) >= _FLOAT_LIMIT:
            raise InvalidValue(f"{value} is out of range for float")
        return number

    return load


def _spell(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def _dump_double(value: float) -> Any:
    return value if value - value == 0 else _spell(value)


def _dump_float(value: float) -> Any:
    if value - value != 0:
        return _spell(value)
    # A float32 read back as float64 carries noise digits ("0.1" is
    # 0.10000000149011612): write the shortest text of the same float32,
    # found as json_format finds it (6 to 9 significant digits).
    precision = 6
    rounded = float(f"{value:.{precision}g}")
    while _FLOAT32.unpack(_FLOAT32.pack(rounded))[0] != value:
        precision += 1
        rounded = float(f"{value:.{precision}g}")
    return rounded


# --- bool, string, bytes ------------------------------------------------------


def _load_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise InvalidValue(f"expected true or false, got {describe(value)}")


def _load_text_bool(value: str) -> bool:
    try:
        return _TEXT_BOOLS[value]
    except KeyError:
        raise InvalidValue(f"expected true or false, got {describe(value)}") from None


def _load_string(value: Any) -> str:
    if type(value) is str:
        return value
    raise InvalidValue(f"expected a string, got {describe(value)}")


def _load_bytes(value: Any) -> bytes:
    if type(value) is not str:
        raise InvalidValue(f"expected a base64 string, got {describe(value)}")
    # Standard and URL-safe alphabets, padding optional, as json_format reads them.
    encoded = value.encode("utf-8")
    try:
        return base64.urlsafe_b64decode(encoded + b"=" * (4 - len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise InvalidValue(f"expected a base64 string, got {describe(value)}") from None


def _dump_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


# --- enums --------------------------------------------------------------------


def _enum_loader(enum: EnumDescriptor) -> Load:
    by_name = {v.name: v.number for v in enum.values}
    numbers = frozenset(by_name.values())
    closed = enum.is_closed
    full_name = enum.full_name

    def load(value: Any) -> int:
        if type(value) is str:
            named = by_name.get(value)
            if named is not None:
                return named
            try:
                number = int(value)
            except ValueError:
                raise InvalidValue(f"unknown value {describe(value)} of enum {full_name}") from None
        elif type(value) is int:
            number = value
        else:
            raise InvalidValue(f"expected an enum name or number, got {describe(value)}")
        if number in numbers or (not closed and -(2**31) <= number < 2**31):
            return number
        raise InvalidValue(f"unknown value {number} of enum {full_name}")

    return load


def _enum_dumper(enum: EnumDescriptor) -> Dump:
    if enum.full_name == "google.protobuf.NullValue":
        return lambda _value: None
    names = {v.number: v.name for v in enum.values}
    # An open enum may hold numbers it does not name: they are written as numbers.
    return lambda value: names.get(value, value)


def _enum_of(field: FieldDescriptor) -> EnumDescriptor:
    enum = field.enum_type
    assert enum is not None  # noqa: S101 - an enum field has an enum type
    return enum


# --- choosing per field -------------------------------------------------------


def json_loader(field: FieldDescriptor) -> Load:
    """How a JSON value becomes this scalar field's value (raises :class:`InvalidValue`)."""
    kind = field.type
    if kind in _INT_RANGES:
        return _int_loader(kind)
    if kind in {_FD.TYPE_DOUBLE, _FD.TYPE_FLOAT}:
        return _float_loader(kind == _FD.TYPE_FLOAT)
    if kind == _FD.TYPE_BOOL:
        return _load_bool
    if kind == _FD.TYPE_STRING:
        return _load_string
    if kind == _FD.TYPE_BYTES:
        return _load_bytes
    if kind == _FD.TYPE_ENUM:
        return _enum_loader(_enum_of(field))
    msg = f"{field.full_name} is not a scalar field"
    raise TypeError(msg)


def text_loader(field: FieldDescriptor) -> Load:
    """How URL text (a path segment or a query value) becomes this scalar field's value."""
    if field.type == _FD.TYPE_BOOL:
        return _load_text_bool
    return json_loader(field)


def map_key_loader(field: FieldDescriptor) -> Load:
    """How a JSON object key becomes a map key (keys are always strings in JSON)."""
    if field.type == _FD.TYPE_BOOL:

        def load_bool_key(value: str) -> bool:
            if value in {"true", "false"}:
                return value == "true"
            raise InvalidValue(f'expected "true" or "false" as key, got {describe(value)}')

        return load_bool_key
    if field.type in _INT_RANGES:
        return _int_loader(field.type)
    return _load_string


def json_dumper(field: FieldDescriptor) -> Dump:
    """How this scalar field's value is written in JSON (``None``: as it is)."""
    kind = field.type
    if kind in _INT64_TYPES:
        return str
    if kind == _FD.TYPE_DOUBLE:
        return _dump_double
    if kind == _FD.TYPE_FLOAT:
        return _dump_float
    if kind == _FD.TYPE_BYTES:
        return _dump_bytes
    if kind == _FD.TYPE_ENUM:
        return _enum_dumper(_enum_of(field))
    return None
