"""Text from the environment to Python values, and defaults back to text.

Conversion only shapes the text (splits lists, reads booleans and durations);
pydantic validates the result, so constraints and validators still apply.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

from pydantic import SecretBytes, SecretStr

from lbtoolkit.config._durations import format_duration, parse_duration
from lbtoolkit.config._secrets import MASK
from lbtoolkit.config._types import (
    MAPPING_ORIGINS,
    SEQUENCE_ORIGINS,
    split_optional,
    strip_annotated,
)

__all__ = ["ConversionError", "convert", "display", "reads_default"]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class ConversionError(ValueError):
    """Text that cannot become a value of the field's type."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def reads_default(tp: Any, default: object) -> bool:
    """Whether ``default`` must be read like environment text before use.

    pydantic does not validate defaults, so a text default (Go's
    ``envDefault`` style) such as ``"5s"`` for a duration or ``"pw"`` for a
    ``SecretStr`` would stay plain text. An empty default of an optional field
    is kept as written rather than turned into ``None``.
    """
    if not isinstance(default, str):
        return False
    base, optional = split_optional(tp)
    if optional and not default.strip():
        return False
    return base is not str


def convert(text: str, tp: Any) -> Any:
    """Turn ``text`` into a value pydantic accepts for ``tp``.

    Types it does not know (``str``, ``SecretStr``, ``Path``, unions) get the
    text unchanged. Raises :class:`ConversionError`.
    """
    base, optional = split_optional(tp)
    if optional and not text.strip():
        return None
    if base is None:
        return text
    origin = get_origin(base) or base
    if origin in SEQUENCE_ORIGINS:
        return _to_sequence(text, base)
    if origin in MAPPING_ORIGINS:
        return _to_mapping(text, base)
    if origin is Literal or (isinstance(base, type) and issubclass(base, enum.Enum)):
        return _to_choice(text, base)
    return _to_scalar(text, base)


def _to_scalar(text: str, tp: Any) -> Any:
    if tp is bool:
        return _to_bool(text)
    if tp is int:
        return _to_number(text, int, "integer")
    if tp is float:
        return _to_number(text, float, "number")
    if tp is dt.timedelta:
        return _to_duration(text)
    return text


def _to_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConversionError(f"{text!r} is not a valid boolean (use true/false)")


def _to_choice(text: str, tp: Any) -> Any:
    """Pick the ``Literal`` value or enum member that ``text`` spells."""
    word = text.strip()
    choices = list(get_args(tp) if get_origin(tp) is Literal else tp)
    for choice in choices:
        if str(choice.value if isinstance(choice, enum.Enum) else choice) == word:
            return choice
    for choice in choices:
        if isinstance(choice, enum.Enum) and choice.name.lower() == word.lower():
            return choice
    # Unknown: pydantic's message lists the accepted values.
    return text


def _to_number(text: str, kind: type[float], noun: str) -> float:
    try:
        return kind(text.strip())
    except ValueError:
        raise ConversionError(f"{text!r} is not a valid {noun}") from None


def _to_duration(text: str) -> dt.timedelta:
    try:
        return parse_duration(text)
    except (ValueError, OverflowError):
        message = f"{text!r} is not a valid duration (examples: 300ms, 5s, 1h30m)"
        raise ConversionError(message) from None


def _to_sequence(text: str, tp: Any) -> list[Any]:
    if not text.strip():
        return []
    items = [item.strip() for item in text.split(",")]
    args = [strip_annotated(a) for a in get_args(tp)]
    if get_origin(tp) is tuple and Ellipsis not in args:
        if len(args) != len(items):
            return items  # pydantic reports the wrong length
        types = args
    else:
        types = [args[0] if args else str] * len(items)
    values = []
    for number, (item, item_type) in enumerate(zip(items, types, strict=True), 1):
        try:
            values.append(convert(item, item_type))
        except ConversionError as exc:
            raise ConversionError(f"item {number}: {exc}") from None
    return values


def _to_mapping(text: str, tp: Any) -> dict[Any, Any]:
    if not text.strip():
        return {}
    args = get_args(tp)
    key_type, value_type = (args[0], args[1]) if args else (str, str)
    result: dict[Any, Any] = {}
    for entry in text.split(","):
        key, colon, value = entry.partition(":")
        if not colon:
            message = f"{entry.strip()!r} is not a key:value pair (example: a:1,b:2)"
            raise ConversionError(message)
        try:
            result[convert(key.strip(), key_type)] = convert(value.strip(), value_type)
        except ConversionError as exc:
            raise ConversionError(f"key {key.strip()!r}: {exc}") from None
    return result


def display(value: Any) -> str:  # noqa: PLR0911 - one return per kind of value
    """Write a default value as the text one would put in the environment."""
    if value is None:
        return ""
    if isinstance(value, SecretStr | SecretBytes):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    if isinstance(value, enum.Enum):
        return display(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ",".join(f"{display(k)}:{display(v)}" for k, v in value.items())
    if isinstance(value, set | frozenset):
        return ",".join(sorted(display(item) for item in value))
    if isinstance(value, list | tuple):
        return ",".join(display(item) for item in value)
    return str(value)
