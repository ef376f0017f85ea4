"""``google.api.http`` rules: path templates parsed and checked at generate time.

The grammar (google/api/http.proto)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

plus the bare root ``/``. Variables and ``body`` must name fields of the
request, ``response_body`` a field of the response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf import descriptor_pb2

if TYPE_CHECKING:
    from lbtoolkit.codegen._descriptors import DescriptorIndex, MessageInfo

__all__ = ["Rule", "RuleError", "Template", "Variable", "parse_template", "rules_of"]

_LITERAL = re.compile(r"[A-Za-z0-9._~!$&'()+,;@%-]+")
_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_PATTERNS = ("get", "put", "post", "delete", "patch", "custom")
# As in the Go toolkit, these read the whole request from the body when the
# rule names no body.
_BODY_BY_DEFAULT = frozenset({"POST", "PUT", "PATCH"})


class RuleError(ValueError):
    """A rule the toolkit cannot route; the caller adds file and method."""


@dataclass(frozen=True, slots=True)
class Variable:
    field_path: str
    segments: tuple[str, ...] = ("*",)


@dataclass(frozen=True, slots=True)
class Template:
    segments: tuple[str | Variable, ...]
    verb: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    method: str
    path: str
    template: Template
    body: str
    response_body: str


def parse_template(path: str) -> Template:
    """Parse a path template; ``RuleError`` says what is wrong with it."""
    if not path.startswith("/"):
        raise RuleError(f'path template "{path}" must start with "/"')
    text, verb = _split_verb(path, path[1:])
    if not text:
        return Template((), verb)
    segments = tuple(_segment(path, raw) for raw in _split_segments(text))
    flat = [s for seg in segments for s in (seg.segments if isinstance(seg, Variable) else [seg])]
    if "**" in flat[:-1]:
        raise RuleError(f'path template "{path}": "**" may only be the last segment')
    names = [s.field_path for s in segments if isinstance(s, Variable)]
    if len(set(names)) != len(names):
        raise RuleError(f'path template "{path}" binds a field twice')
    return Template(segments, verb)


def _split_verb(path: str, text: str) -> tuple[str, str]:
    _check_braces(path, text)
    # The verb follows the last ":" outside braces and after the last "/".
    outside = re.sub(r"\{[^}]*\}", lambda found: "_" * len(found[0]), text)
    colon = outside.rfind(":")
    if colon < 0 or "/" in outside[colon:]:
        return text, ""
    verb = text[colon + 1 :]
    if not _LITERAL.fullmatch(verb):
        raise RuleError(f'path template "{path}": invalid verb ":{verb}"')
    return text[:colon], verb


def _check_braces(path: str, text: str) -> None:
    depth = 0
    for char in text:
        if char == "{":
            if depth:
                raise RuleError(f'path template "{path}": variables cannot nest')
            depth = 1
        elif char == "}":
            if not depth:
                raise RuleError(f'path template "{path}": "}}" without "{{"')
            depth = 0
    if depth:
        raise RuleError(f'path template "{path}": "{{" is not closed')


def _split_segments(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    inside = False
    for char in text:
        if char == "/" and not inside:
            parts.append(current)
            current = ""
            continue
        inside = (inside or char == "{") and char != "}"
        current += char
    parts.append(current)
    return parts


def _segment(path: str, raw: str) -> str | Variable:
    if raw.startswith("{") and raw.endswith("}"):
        field_path, _, pattern = raw[1:-1].partition("=")
        if not _FIELD_PATH.fullmatch(field_path):
            raise RuleError(f'path template "{path}": invalid field path "{field_path}"')
        if not pattern:
            return Variable(field_path)
        inner = tuple(_plain_segment(path, part) for part in pattern.split("/"))
        return Variable(field_path, inner)
    return _plain_segment(path, raw)


def _plain_segment(path: str, raw: str) -> str:
    if raw in {"*", "**"}:
        return raw
    if not raw:
        raise RuleError(f'path template "{path}" has an empty segment')
    if "{" in raw or "}" in raw:
        raise RuleError(f'path template "{path}": a variable must be a whole segment')
    if not _LITERAL.fullmatch(raw):
        raise RuleError(f'path template "{path}": invalid segment "{raw}"')
    return raw


def rules_of(
    rule: Any,
    request: MessageInfo,
    response: MessageInfo,
    index: DescriptorIndex,
) -> tuple[Rule, ...]:
    """The rule and its additional bindings, each checked against the messages.

    ``rule`` is a ``google.api.HttpRule`` (untyped: googleapis-common-protos
    ships no ``py.typed``).
    """
    rules = [_rule(rule, request, response, index)]
    for extra in rule.additional_bindings:
        if extra.additional_bindings:
            raise RuleError("additional_bindings cannot have additional_bindings of their own")
        rules.append(_rule(extra, request, response, index))
    return tuple(rules)


def _rule(
    rule: Any,
    request: MessageInfo,
    response: MessageInfo,
    index: DescriptorIndex,
) -> Rule:
    kind = rule.WhichOneof("pattern")
    if kind is None or kind not in _PATTERNS:
        raise RuleError("the rule sets no pattern; use get, put, post, delete, patch or custom")
    if kind == "custom":
        if not rule.custom.kind:
            raise RuleError(
                f'custom pattern "{rule.custom.path}" has no kind; '
                f'name the HTTP method: custom: {{kind: "HEAD" path: "{rule.custom.path}"}}'
            )
        method, path = rule.custom.kind.upper(), rule.custom.path
    else:
        method, path = kind.upper(), getattr(rule, kind)
    template = parse_template(path)
    for variable in template.segments:
        if isinstance(variable, Variable):
            _check_field_path(variable.field_path, request, index, path)
    body = rule.body or ("*" if method in _BODY_BY_DEFAULT else "")
    if body != "*" and body and request.field(body) is None:
        raise RuleError(f'body "{body}" is no field of {request.full_name}')
    if rule.response_body and response.field(rule.response_body) is None:
        raise RuleError(f'response_body "{rule.response_body}" is no field of {response.full_name}')
    return Rule(method, path, template, body, rule.response_body)


def _check_field_path(
    field_path: str, message: MessageInfo, index: DescriptorIndex, path: str
) -> None:
    names = field_path.split(".")
    for position, name in enumerate(names):
        field = message.field(name)
        if field is None:
            raise RuleError(
                f'path template "{path}": "{field_path}" is no field of {message.full_name}'
            )
        if position < len(names) - 1:
            if field.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                raise RuleError(
                    f'path template "{path}": "{name}" in "{field_path}" is not a message field'
                )
            message = index.message(field.type_name)
