"""Request validation: a request's ``buf.validate`` rules, checked before its handler runs.

protovalidate checks the rules a message type carries (written as
``buf.validate`` options, or translated into them from protoc-gen-validate
rules by ``lbtoolkit generate``). Every violation is reported at once, as an
``INVALID_ARGUMENT`` whose ``google.rpc.BadRequest`` lists them: gRPC sends it
in ``grpc-status-details-bin``, HTTP in the error body's ``details``.

Whether a message type has any rule (its own or its nested messages') is
decided once per type: a transport asks ``request_check`` once per method,
and a type without rules is never checked.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from google.protobuf import unknown_fields
from google.protobuf.descriptor import FieldDescriptor

from lbtoolkit.errors import InvalidArgument

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from google.protobuf.descriptor import Descriptor
    from google.protobuf.message import Message
    from protovalidate import Validator, Violation
    from protovalidate._gen.buf.validate.validate_pb import Violation as ViolationProto

__all__ = ["RequestCheck", "has_rules", "request_check", "violations_error"]

RequestCheck = Callable[[Any], None]
"""Raises ``InvalidArgument`` when the message breaks its rules."""

# The number of the buf.validate.message, .oneof and .field option extensions.
_BUF_VALIDATE_OPTION = 1159
_BUF_VALIDATE_PACKAGE = "buf.validate."

_engine: Validator | None = None
_engine_lock = threading.Lock()


def request_check(request_type: type[Message], *, enabled: bool = True) -> RequestCheck | None:
    """The check a transport runs on each request of ``request_type``.

    ``None`` when validation is off or the type carries no rule: decided once,
    where the method is bound, not per request.
    """
    if not (enabled and has_rules(request_type.DESCRIPTOR)):
        return None
    collect = _validator().collect_violations

    def check(message: Message) -> None:
        violations = collect(message)
        if violations:
            raise violations_error(violations)

    return check


@functools.cache  # a type shared by methods and transports is walked once
def has_rules(descriptor: Descriptor) -> bool:
    """Whether ``descriptor`` or a message type it contains carries a validation rule."""
    return _any_rules(descriptor, set())


def violations_error(violations: Sequence[Violation]) -> InvalidArgument:
    """``InvalidArgument`` with a ``google.rpc.BadRequest`` naming each violation."""
    from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # noqa: PLC0415

    request = error_details_pb2.BadRequest()
    lines: list[str] = []
    for violation in violations:
        proto = violation.proto
        path = _field_path(proto)
        description, rule = proto.message or "", proto.rule_id or ""
        request.field_violations.add(field=path, description=description, reason=rule)
        place = f"{path}: " if path else ""
        lines.append(f"{place}{description} [{rule}]")
    count = len(lines)
    noun = "violation" if count == 1 else "violations"
    message = f"invalid request: {count} {noun}: " + "; ".join(lines)
    return InvalidArgument(message, detail_messages=[request])


def _validator() -> Validator:
    # One engine for the process: it caches the compiled rules of each type.
    global _engine  # noqa: PLW0603 - the process-wide engine, built on first use
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                import protovalidate  # noqa: PLC0415 - a service without rules never loads it

                _engine = protovalidate.Validator()
    return _engine


def _any_rules(descriptor: Descriptor, seen: set[str]) -> bool:
    if descriptor.full_name in seen:
        return False
    seen.add(descriptor.full_name)
    if _carries_rules(descriptor.GetOptions()):
        return True
    if any(_carries_rules(oneof.GetOptions()) for oneof in descriptor.oneofs):
        return True
    for field in descriptor.fields:
        if _carries_rules(field.GetOptions()):
            return True
        nested = field.message_type
        if (
            field.type == FieldDescriptor.TYPE_MESSAGE
            and nested is not None
            and _any_rules(nested, seen)
        ):
            return True
    return False


def _carries_rules(options: Message) -> bool:
    # The extension is known when its module was imported, unknown otherwise:
    # a message compiled elsewhere is still found to carry rules.
    for field, _ in options.ListFields():
        if field.is_extension and field.full_name.startswith(_BUF_VALIDATE_PACKAGE):
            return True
    unknown: Iterable[Any] = unknown_fields.UnknownFieldSet(options)  # type: ignore[assignment]
    return any(field.field_number == _BUF_VALIDATE_OPTION for field in unknown)


def _field_path(violation: ViolationProto) -> str:
    # AIP-193's field paths: ``items[2].name``, ``labels["key"]``.
    parts: list[str] = []
    field = violation.field
    for element in field.elements if field is not None else ():
        parts.append(f".{element.field_name}" if parts else element.field_name or "")
        subscript = element.subscript
        if subscript is None:
            continue
        value = subscript.value
        if isinstance(value, str):
            parts.append(f"[{json.dumps(value)}]")
        elif isinstance(value, bool):
            parts.append(f"[{'true' if value else 'false'}]")
        else:
            parts.append(f"[{value}]")
    return "".join(parts)
