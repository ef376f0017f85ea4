"""pydantic's validation errors in the configuration's own words.

``MYSERVICE_GRPC_SERVER_PORT: 70000 is not a valid port (0-65535)`` rather
than ``Input should be less than or equal to 65535``: the value, what it
should be, and the same rule help shows next to the variable.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from lbtoolkit.config._constraints import annotated_metadata, describe_rule, kind_of
from lbtoolkit.config._convert import display
from lbtoolkit.config._types import split_optional

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic_core import ErrorDetails

__all__ = ["explain"]

_OUT_OF_RANGE = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_NOT_A_CHOICE = frozenset({"literal_error", "enum"})


def explain(error: ErrorDetails, annotation: Any, metadata: Sequence[object]) -> str:
    """The message of one pydantic error about a field of type ``annotation``."""
    kind = error["type"]
    value = error.get("input")
    context = error.get("ctx", {})
    if kind == "value_error" and "error" in context:
        return str(context["error"])
    if kind in _OUT_OF_RANGE:
        rule = describe_rule(annotation, metadata)
        noun = kind_of([*metadata, *annotated_metadata(annotation)])
        if noun is None:
            return f"{_shown(value)} is out of range ({rule})"
        return f"{_shown(value)} is not a valid {noun.noun} ({rule})"
    if kind in _NOT_A_CHOICE:
        return f"{_shown(value)} is not one of {_choices(annotation, context)}"
    if kind == "string_pattern_mismatch":
        return f"{_shown(value)} does not match the pattern {context.get('pattern', '')}"
    return error["msg"]


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else display(value)


def _choices(annotation: Any, context: dict[str, Any]) -> str:
    base, _ = split_optional(annotation)
    if base is not None and get_origin(base) is Literal:
        return ", ".join(str(choice) for choice in get_args(base))
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return ", ".join(str(member.value) for member in base)
    return str(context.get("expected", ""))
