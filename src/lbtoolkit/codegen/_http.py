"""``google.api.http`` rules, checked at generate time.

Path templates follow the one grammar of ``lbtoolkit.spec.PathTemplate``, the
one the HTTP server routes by. Variables and ``body`` must name fields of the
request, ``response_body`` a field of the response.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.protobuf import descriptor_pb2

from lbtoolkit.spec import HttpRule, PathTemplate

if TYPE_CHECKING:
    from lbtoolkit.codegen._descriptors import DescriptorIndex, MessageInfo

__all__ = ["RuleError", "rules_of"]

_PATTERNS = ("get", "put", "post", "delete", "patch", "custom")
# As in the Go toolkit, these read the whole request from the body when the
# rule names no body.
_BODY_BY_DEFAULT = frozenset({"POST", "PUT", "PATCH"})


class RuleError(ValueError):
    """A rule the toolkit cannot route; the caller adds file and method."""


def rules_of(
    rule: Any,
    request: MessageInfo,
    response: MessageInfo,
    index: DescriptorIndex,
) -> tuple[HttpRule, ...]:
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
) -> HttpRule:
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
    template = PathTemplate.parse(path)
    for field_path in template.variables:
        _check_field_path(field_path, request, index, path)
    body = rule.body or ("*" if method in _BODY_BY_DEFAULT else "")
    if body != "*" and body and request.field(body) is None:
        raise RuleError(f'body "{body}" is no field of {request.full_name}')
    if rule.response_body and response.field(rule.response_body) is None:
        raise RuleError(f'response_body "{rule.response_body}" is no field of {response.full_name}')
    return HttpRule(method, path, template, body, rule.response_body)


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
