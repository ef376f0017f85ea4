"""Questions asked of a field's type annotation: optional? secret? its name?"""

from __future__ import annotations

import collections.abc
import datetime as dt
import enum
import pathlib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import SecretBytes, SecretStr

__all__ = [
    "MAPPING_ORIGINS",
    "SEQUENCE_ORIGINS",
    "is_secret",
    "split_optional",
    "strip_annotated",
    "type_name",
    "zero_value",
]

SEQUENCE_ORIGINS: tuple[Any, ...] = (
    list,
    set,
    frozenset,
    tuple,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
    collections.abc.MutableSet,
)
MAPPING_ORIGINS: tuple[Any, ...] = (
    dict,
    collections.abc.Mapping,
    collections.abc.MutableMapping,
)
_SECRET_TYPES = (SecretStr, SecretBytes)
_NONE_TYPE = type(None)


def strip_annotated(tp: Any) -> Any:
    """Return ``tp`` without its ``Annotated[...]`` wrappers."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def split_optional(tp: Any) -> tuple[Any, bool]:
    """Split ``X | None`` into ``(X, True)``.

    A union of several other types comes back as ``(None, True/False)``: it has
    no single type to convert text to, so the text goes to pydantic as is.
    """
    tp = strip_annotated(tp)
    if get_origin(tp) not in (Union, types.UnionType):
        return tp, False
    args = get_args(tp)
    rest = [strip_annotated(a) for a in args if a is not _NONE_TYPE]
    optional = len(rest) < len(args)
    return (rest[0] if len(rest) == 1 else None), optional


def is_secret(tp: Any) -> bool:
    """Whether a secret type appears anywhere in ``tp``."""
    tp = strip_annotated(tp)
    if isinstance(tp, type) and issubclass(tp, _SECRET_TYPES):
        return True
    return any(is_secret(arg) for arg in get_args(tp) if arg is not Ellipsis)


def type_name(tp: Any) -> str:  # noqa: PLR0911 - one return per kind of type
    """A short human name for ``tp`` (``int``, ``duration``, ``list[str]``)."""
    tp = strip_annotated(tp)
    base, optional = split_optional(tp)
    if optional:
        inner = base if base is not None else _union_without_none(tp)
        return f"{type_name(inner)} | None"
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in get_args(tp))
    if origin is Literal:
        return " | ".join(repr(arg) for arg in get_args(tp))
    if tp is dt.timedelta:
        return "duration"
    if tp is _NONE_TYPE or tp is None:
        return "None"
    if origin is not None:
        args = ", ".join("..." if a is Ellipsis else type_name(a) for a in get_args(tp))
        return f"{type_name(origin)}[{args}]"
    return str(getattr(tp, "__qualname__", repr(tp)))


def _union_without_none(tp: Any) -> Any:
    return Union[tuple(a for a in get_args(tp) if a is not _NONE_TYPE)]  # noqa: UP007 - built from a runtime tuple


def zero_value(tp: Any) -> Any:  # noqa: PLR0911 - one return per kind of type
    """The value Go's env library would leave in a field it could not fill.

    Used for required variables that are missing, so that code reading the
    config while building a service (before the error is raised) gets a value
    of the declared type instead of an ``AttributeError``.
    """
    base, optional = split_optional(tp)
    if optional or base is None:
        return None
    origin = get_origin(base) or base
    simple: dict[Any, Any] = {
        bool: False,
        int: 0,
        float: 0.0,
        str: "",
        bytes: b"",
        dt.timedelta: dt.timedelta(0),
        SecretStr: SecretStr(""),
        SecretBytes: SecretBytes(b""),
        pathlib.Path: pathlib.Path(),
        set: set(),
        frozenset: frozenset(),
        tuple: (),
        collections.abc.Set: frozenset(),
    }
    if origin in simple:
        return simple[origin]
    if origin in SEQUENCE_ORIGINS:
        return []
    if origin in MAPPING_ORIGINS:
        return {}
    if origin is Literal:
        return get_args(base)[0]
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return next(iter(base), None)
    return None
