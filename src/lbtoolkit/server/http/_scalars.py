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
import re
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
# JSON's number grammar (RFC 8259), ASCII digits only: sign, whole part, fraction, exponent.
_JSON_NUMBER = re.compile(
    r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]{1,10}))?", re.ASCII
)
_DECIMAL = re.compile(r"[+-]?[0-9]+", re.ASCII)
_MAX_INT_DIGITS = 20
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
    # Go's protojson reads an integer field from a JSON number or from a string
    # holding one, written in JSON's number grammar (exponent and fraction
    # allowed), as long as the value it stands for is a whole number: 1.0,
    # 1e3, "1.50e1" and "-0" pass, 1.5, "1_000", " 1", "+1" and "01" do not.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidValue(f"expected an integer, got {describe(value)}")
    if isinstance(value, float):
        # The JSON parser made a double of it already: whole values above 2**53
        # written with a fraction or an exponent may have been rounded.
        if not value.is_integer():
            raise InvalidValue(f"expected an integer, got {describe(value)}")
        return int(value)
    if isinstance(value, str):
        # The common case, 64-bit integers as protojson writes them ("42"), without the regex.
        if value.isdigit() and value.isascii() and (value[0] != "0" or len(value) == 1):
            return int(value)
        number = _whole_number(value)
        if number is None:
            raise InvalidValue(f"expected an integer, got {describe(value)}")
        return number
    return value


def _whole_number(text: str) -> int | None:
    """The integer a JSON number's text stands for, exactly; None if it is not a whole one.

    The digits are shifted by the exponent as text, never through a float;
    like protojson, a value needing more than 20 digits (no 64-bit integer
    has more) is refused before any of them is built.
    """
    match = _JSON_NUMBER.fullmatch(text)
    if match is None:
        return None
    sign, whole, fraction, exponent = match.groups()
    whole = whole.lstrip("0")
    fraction = (fraction or "").rstrip("0")
    if not whole and not fraction:
        return 0
    shift = int(exponent) if exponent else 0
    if shift >= 0:
        if len(fraction) > shift or len(whole) + shift > _MAX_INT_DIGITS:
            return None
        digits = whole + fraction + "0" * (shift - len(fraction))
    else:
        point = len(whole) + shift
        if fraction or point < 0 or whole[point:].strip("0"):
            return None
        digits = whole[:point]
    number = int(digits or "0")
    return -number if sign else number


def _int_loader(field_type: int) -> Load:
    low, high, name = _INT_RANGES[field_type]

    def load(value: Any) -> int:
        if type(value) is not int:
            value = _coerce_int(value)
        if low <= value <= high:
            return int(value)
        raise InvalidValue(f"{value} is out of range for {name}")

    return load


def _text_int_loader(field_type: int) -> Load:
    """Integers in a URL: decimal digits with an optional sign, as grpc-gateway reads them.

    No fraction and no exponent here (strconv.ParseInt, base 10): ``?size=1e3``
    is refused although the body may say ``{"size": 1e3}``.
    """
    low, high, name = _INT_RANGES[field_type]

    def load(value: str) -> int:
        if _DECIMAL.fullmatch(value) is None:
            raise InvalidValue(f"expected an integer, got {describe(value)}")
        number = int(value)
        if low <= number <= high:
            return number
        raise InvalidValue(f"{number} is out of range for {name}")

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
        elif type(value) is float and value.is_integer():
            number = int(value)  # protojson reads enum numbers as it reads int32 fields
        else:
            raise InvalidValue(f"expected an enum name or number, got {describe(value)}")
        # In a body, as in protojson and on gRPC, an open enum carries numbers
        # it does not name (the server writes them back as numbers).
        if number in numbers or (not closed and -(2**31) <= number < 2**31):
            return number
        raise InvalidValue(f"unknown value {number} of enum {full_name}")

    return load


def _text_enum_loader(enum: EnumDescriptor) -> Load:
    """Enums in a URL: a name, or a number the enum defines, as grpc-gateway reads them."""
    by_name = {v.name: v.number for v in enum.values}
    numbers = frozenset(by_name.values())
    full_name = enum.full_name

    def load(value: str) -> int:
        named = by_name.get(value)
        if named is not None:
            return named
        if _DECIMAL.fullmatch(value) is not None and int(value) in numbers:
            return int(value)
        raise InvalidValue(f"unknown value {describe(value)} of enum {full_name}")

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
    kind = field.type
    if kind == _FD.TYPE_BOOL:
        return _load_text_bool
    if kind in _INT_RANGES:
        return _text_int_loader(kind)
    if kind == _FD.TYPE_ENUM:
        return _text_enum_loader(_enum_of(field))
    return json_loader(field)


def map_key_loader(field: FieldDescriptor) -> Load:
    """How a JSON object key becomes a map key (keys are always strings in JSON).

    Integer keys are decimal only, as protojson reads them (no exponent).
    """
    if field.type == _FD.TYPE_BOOL:

        def load_bool_key(value: str) -> bool:
            if value in {"true", "false"}:
                return value == "true"
            raise InvalidValue(f'expected "true" or "false" as key, got {describe(value)}')

        return load_bool_key
    if field.type in _INT_RANGES:
        return _text_int_loader(field.type)
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
