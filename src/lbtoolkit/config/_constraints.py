"""Constrained types every config model shares, and the text of their rules.

Each type is ``Annotated`` with pydantic constraints (``Field(ge=..., le=...)``)
or a validator, plus a :class:`Kind` naming what the value is. Help shows the
rule after the description (``gRPC server port (0-65535)``) and a bad value is
reported in the same words (``70000 is not a valid port (0-65535)``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, Field
from pydantic.fields import FieldInfo

from lbtoolkit.config._convert import display
from lbtoolkit.config._types import split_optional

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "MAX_DURATION",
    "MAX_MESSAGE_SIZE",
    "ByteSize",
    "HostName",
    "HttpPath",
    "Kind",
    "ListenAddress",
    "MessageSize",
    "NonNegativeDuration",
    "NonNegativeInt",
    "Port",
    "PositiveDuration",
    "PositiveInt",
    "RemotePort",
    "SampleRate",
    "annotated_metadata",
    "check_host_name",
    "describe_rule",
    "kind_of",
]

# Timeouts, intervals and ages: a day is beyond any sensible one, and keeps
# libraries that turn seconds into C integers (sockets, gRPC) from overflowing.
MAX_DURATION = dt.timedelta(hours=24)
# gRPC keeps message sizes in a C int.
MAX_MESSAGE_SIZE = 2**31 - 1
_ZERO = dt.timedelta(0)
# One DNS label: letters, digits, "-" inside, "_" as some records use it.
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


@dataclass(frozen=True, slots=True)
class Kind:
    """What a constrained value is (``port``) and, for a validator, its rule in words."""

    noun: str
    rule: str = ""


def _check_path(value: str) -> str:
    if not value.startswith("/"):
        msg = f"{value!r} is not a valid path (must start with /)"
        raise ValueError(msg)
    if _unsafe_characters(value) or any(char.isspace() for char in value):
        msg = f"{value!r} is not a valid path (no spaces, control or bidirectional characters)"
        raise ValueError(msg)
    return value


def _check_listen(value: str) -> str:
    problem = check_host_name(value)
    if problem:
        raise ValueError(problem)
    return value


def check_host_name(value: str) -> str:
    """Why ``value`` is neither an IP address nor a host name; ``""`` when it is one.

    A syntax check only (nothing is resolved): ``0.0.0.0``, ``::``,
    ``[::1]``, ``localhost`` and ``api.example.com`` pass; ``999.1.1.1``,
    ``..`` and names with spaces, control or bidirectional characters do not.
    """
    if not value:
        return "'' is not a valid address (use 0.0.0.0 for every interface)"
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return _name_problem(value)
    return ""


def _name_problem(value: str) -> str:
    labels = value.removesuffix(".").split(".")
    if len(labels) == 4 and all(label.isdigit() for label in labels):  # noqa: PLR2004 - IPv4
        return f"{value!r} is not a valid IPv4 address"
    if ":" in value:
        return f"{value!r} is not a valid IPv6 address"
    if _unsafe_characters(value):
        return f"{value!r} is not a valid host name (control or bidirectional characters)"
    try:
        ascii_labels = value.removesuffix(".").encode("idna").decode("ascii").lower().split(".")
    except UnicodeError:
        ascii_labels = [""]
    if any(not _LABEL.fullmatch(label) for label in ascii_labels):
        return f"{value!r} is not a valid host name"
    if len(".".join(ascii_labels)) > 253:  # noqa: PLR2004 - DNS name length
        return f"{value!r} is not a valid host name (longer than 253 characters)"
    return ""


def _unsafe_characters(value: str) -> bool:
    # Cc, Cf (bidi overrides, zero-width), Cs, Co, Cn: invisible or unassigned.
    return any(unicodedata.category(char).startswith("C") for char in value)


Port = Annotated[int, Field(ge=0, le=65535), Kind("port")]
"""A port to listen on; 0 picks any free one."""
RemotePort = Annotated[int, Field(ge=1, le=65535), Kind("port")]
"""The port of a server to connect to."""
NonNegativeDuration = Annotated[dt.timedelta, Field(ge=_ZERO, le=MAX_DURATION), Kind("duration")]
PositiveDuration = Annotated[dt.timedelta, Field(gt=_ZERO, le=MAX_DURATION), Kind("duration")]
ByteSize = Annotated[int, Field(ge=0), Kind("size")]
"""A size in bytes."""
MessageSize = Annotated[int, Field(ge=1, le=MAX_MESSAGE_SIZE), Kind("message size")]
"""A gRPC message size in bytes."""
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
SampleRate = Annotated[float, Field(ge=0, le=1), Kind("rate")]
HttpPath = Annotated[str, AfterValidator(_check_path), Kind("path", "starts with /")]
ListenAddress = Annotated[
    str, AfterValidator(_check_listen), Kind("address", "IP address or host name")
]
HostName = Annotated[str, AfterValidator(_check_listen), Kind("host", "IP address or host name")]
"""The host of a server to connect to."""


def kind_of(metadata: Iterable[object]) -> Kind | None:
    """The :class:`Kind` among a field's metadata."""
    return next((item for item in metadata if isinstance(item, Kind)), None)


def describe_rule(annotation: Any, metadata: Iterable[object]) -> str:
    """The rule a field's value must follow, in words (``0-65535``); ``""`` when none.

    Read from the bounds pydantic checks (``Field(ge=..., le=...)``, in the
    field's metadata or its annotation), a :class:`Kind`'s rule, or the values
    of a ``Literal``.
    """
    items = [*metadata, *annotated_metadata(annotation)]
    kind = kind_of(items)
    if kind is not None and kind.rule:
        return kind.rule
    bounds = _bounds(items)
    if bounds:
        return bounds
    base, _ = split_optional(annotation)
    if base is not None and get_origin(base) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(base))
    return ""


def annotated_metadata(annotation: Any) -> list[object]:
    """The metadata of ``annotation``'s ``Annotated`` wrappers (``X | None`` included)."""
    found: list[object] = []
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    for outer in (annotation, *members):
        tp = outer
        while get_origin(tp) is Annotated:
            for item in tp.__metadata__:
                # Field(ge=...) inside Annotated keeps its bounds in its own metadata.
                found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
            tp = get_args(tp)[0]
    return found


def _bounds(items: Iterable[object]) -> str:
    low: object = None
    high: object = None
    low_open = high_open = False
    for item in items:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low, low_open = item.gt, True
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high, high_open = item.lt, True
    if low is not None and high is not None and not (low_open or high_open):
        return f"{display(low)}-{display(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'over' if low_open else 'at least'} {display(low)}")
    if high is not None:
        parts.append(f"{'under' if high_open else 'at most'} {display(high)}")
    return ", ".join(parts)
