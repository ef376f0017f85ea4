"""protoc-gen-validate rules rewritten as protovalidate (``buf.validate``) rules.

Services validate requests with one engine, protovalidate, which reads only
``buf.validate`` options. Protos written for protoc-gen-validate (``(validate.
rules)``, ``(validate.required)``, ``(validate.disabled)``, ``(validate.
ignored)``) are translated in the descriptor set between protoc's two passes,
so the generated ``_pb2`` modules carry the equivalent ``buf.validate`` rules
(the original options stay, unread). A rule protovalidate has no equivalent
for fails the generation, naming the file, the field and the rule: a rule
written in a .proto is never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf import descriptor_pb2

from lbtoolkit.codegen._errors import UnsupportedValidationRuleError
from lbtoolkit.proto import BUF_VALIDATE_PROTO, VALIDATE_PROTO
from lbtoolkit.proto.buf.validate import validate_pb2 as buf
from lbtoolkit.proto.validate import validate_pb2 as pgv

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, MutableSequence

    from google.protobuf.message import Message

__all__ = [
    "PgvRule",
    "ensure_buf_validate",
    "pgv_rules_of",
    "translate_file",
    "translate_files",
]

# Type-specific PGV rule kinds whose every rule has a buf.validate field of
# the same name and meaning, except the ones handled below by name.
_SAME_KIND = frozenset(
    {
        *("float", "double", "int32", "int64", "uint32", "uint64", "sint32", "sint64"),
        *("fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes", "enum"),
        *("repeated", "map", "any", "duration", "timestamp"),
    }
)
# Rules whose PGV meaning lives on buf.validate's FieldRules, not on the kind's rules.
_TO_REQUIRED = frozenset({"any.required", "duration.required", "timestamp.required"})
_IGNORE_EMPTY = "ignore_empty"
# Nested field rules, translated recursively.
_NESTED = frozenset({"repeated.items", "map.keys", "map.values"})
# Rules with no buf.validate counterpart, and why (shown to the user).
_UNTRANSLATABLE = {
    "map.no_sparse": "protovalidate has no rule for map entries without a value "
    "(a sparse entry decodes as an empty message in Python anyway); remove the rule",
}


@dataclass(frozen=True, slots=True)
class PgvRule:
    """One protoc-gen-validate option found in a file: where, and which."""

    proto_file: str
    element: str  # ``field pkg.Msg.name``, ``oneof pkg.Msg.kind``, ``message pkg.Msg``
    option: str  # as written: ``(validate.rules)``, ``(validate.required)``, ...


def pgv_rules_of(file: descriptor_pb2.FileDescriptorProto) -> list[PgvRule]:
    """The protoc-gen-validate options ``file`` carries (the plugin path refuses them)."""
    found: list[PgvRule] = []
    for message, full_name in _messages(file.message_type, file.package):
        options = message.options
        for extension, option in ((pgv.disabled, "disabled"), (pgv.ignored, "ignored")):
            if options.HasExtension(extension):
                found.append(PgvRule(file.name, f"message {full_name}", f"(validate.{option})"))
        for oneof in message.oneof_decl:
            if oneof.options.HasExtension(pgv.required):
                where = f"oneof {full_name}.{oneof.name}"
                found.append(PgvRule(file.name, where, "(validate.required)"))
        for field in message.field:
            if field.options.HasExtension(pgv.rules):
                where = f"field {full_name}.{field.name}"
                found.append(PgvRule(file.name, where, "(validate.rules)"))
    return found


def translate_files(
    files: MutableSequence[descriptor_pb2.FileDescriptorProto], names: Iterable[str]
) -> bool:
    """Translate the PGV rules of the files called ``names``, in place.

    Returns whether any file changed; then ``files`` also holds
    ``buf/validate/validate.proto`` and its imports, which the changed files
    now import.
    """
    wanted = set(names)
    changed = False
    for file in files:
        if file.name in wanted and translate_file(file):
            changed = True
    if changed:
        ensure_buf_validate(files)
    return changed


def translate_file(file: descriptor_pb2.FileDescriptorProto) -> bool:
    """Add the ``buf.validate`` equivalent of each PGV option of ``file``; whether any."""
    if VALIDATE_PROTO not in file.dependency:
        return False  # without the import, no PGV option can be set
    changed = False
    for message, full_name in _messages(file.message_type, file.package):
        changed |= _translate_message(file.name, message, full_name)
    if changed and BUF_VALIDATE_PROTO not in file.dependency:
        # Appended: public and weak dependencies are indexes into this list.
        file.dependency.append(BUF_VALIDATE_PROTO)
    return changed


def ensure_buf_validate(files: MutableSequence[descriptor_pb2.FileDescriptorProto]) -> None:
    """Put ``buf/validate/validate.proto`` and the files it imports into ``files``.

    Inserted first, in import order: protoc reads a descriptor set whose
    files come before their importers.
    """
    present = {file.name for file in files}
    missing = [file for file in _buf_validate_closure() if file.name not in present]
    for index, file in enumerate(missing):
        files.insert(index, file)


def _buf_validate_closure() -> list[descriptor_pb2.FileDescriptorProto]:
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(descriptor: object) -> None:
        name: str = descriptor.name  # type: ignore[attr-defined]
        if name in seen:
            return
        seen.add(name)
        for dependency in descriptor.dependencies:  # type: ignore[attr-defined]
            visit(dependency)
        ordered.append(
            descriptor_pb2.FileDescriptorProto.FromString(descriptor.serialized_pb)  # type: ignore[attr-defined]
        )

    visit(buf.DESCRIPTOR)
    return ordered


def _messages(
    messages: Iterable[descriptor_pb2.DescriptorProto], scope: str
) -> Iterator[tuple[descriptor_pb2.DescriptorProto, str]]:
    for message in messages:
        full_name = f"{scope}.{message.name}" if scope else message.name
        yield message, full_name
        yield from _messages(message.nested_type, full_name)


def _translate_message(
    proto_file: str, message: descriptor_pb2.DescriptorProto, full_name: str
) -> bool:
    options = message.options
    changed = False
    # PGV skips a disabled (or ignored) message entirely, nested messages
    # included; protovalidate would still descend into message fields, so
    # they are told to ignore theirs.
    off = (options.HasExtension(pgv.disabled) and options.Extensions[pgv.disabled]) or (
        options.HasExtension(pgv.ignored) and options.Extensions[pgv.ignored]
    )
    for oneof in message.oneof_decl:
        if oneof.options.HasExtension(pgv.required):
            if oneof.options.Extensions[pgv.required] and not off:
                oneof.options.Extensions[buf.oneof].required = True
            changed = True
    for field in message.field:
        where = f"field {full_name}.{field.name}"
        if off:
            if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                field.options.Extensions[buf.field].Clear()
                field.options.Extensions[buf.field].ignore = buf.IGNORE_ALWAYS
                changed = True
            continue
        if not field.options.HasExtension(pgv.rules):
            continue
        if field.options.HasExtension(buf.field):
            raise UnsupportedValidationRuleError(
                proto_file,
                "(validate.rules)",
                "has both (validate.rules) and (buf.validate.field); keep one of them",
                where=where,
            )
        translated = buf.FieldRules()
        site = _Site(proto_file, where)
        _translate_rules(site, "(validate.rules)", field.options.Extensions[pgv.rules], translated)
        field.options.Extensions[buf.field].CopyFrom(translated)
        changed = True
    return changed or off


@dataclass(frozen=True, slots=True)
class _Site:
    """Where a rule is written, for the error that refuses it."""

    proto_file: str
    where: str

    def refuse(self, option: str, problem: str) -> UnsupportedValidationRuleError:
        return UnsupportedValidationRuleError(self.proto_file, option, problem, where=self.where)


def _translate_rules(site: _Site, option: str, rules: pgv.FieldRules, into: buf.FieldRules) -> None:
    for descriptor, value in rules.ListFields():
        kind = descriptor.name
        if kind == "message":
            if value.skip:
                into.ignore = buf.IGNORE_ALWAYS
            if value.required:
                into.required = True
        elif kind in _SAME_KIND:
            _translate_kind(site, f"{option}.{kind}", kind, value, into)
        else:
            raise site.refuse(f"{option}.{kind}", "protovalidate has no such rule kind")


def _translate_kind(
    site: _Site, option: str, kind: str, rules: Message, into: buf.FieldRules
) -> None:
    target = getattr(into, kind)
    target.SetInParent()  # an empty kind still selects the rule type
    for rule, setting in rules.ListFields():
        name = f"{kind}.{rule.name}"
        written = f"{option}.{rule.name}"
        if name in _UNTRANSLATABLE:
            if setting:
                raise site.refuse(written, _UNTRANSLATABLE[name])
        elif name in _TO_REQUIRED:
            into.required = into.required or bool(setting)
        elif rule.name == _IGNORE_EMPTY:
            if setting:
                into.ignore = buf.IGNORE_IF_ZERO_VALUE
        elif name in _NESTED:
            _translate_rules(site, written, setting, getattr(target, rule.name))
        else:
            _copy_rule(site, written, rule.name, setting, target)


def _copy_rule(site: _Site, written: str, name: str, setting: Any, target: Message) -> None:
    field = target.DESCRIPTOR.fields_by_name.get(name)
    if field is None:
        raise site.refuse(written, "protovalidate has no equivalent rule")
    if field.is_repeated:
        getattr(target, name).extend(setting)
    elif field.type == field.TYPE_MESSAGE:
        getattr(target, name).CopyFrom(setting)
    else:
        # Enums (KnownRegex) have the same names and numbers in both option sets.
        setattr(target, name, setting)
