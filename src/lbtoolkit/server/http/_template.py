"""``google.api.http`` path templates: parsing text and decoding matched values.

The grammar (from ``google/api/http.proto``)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from lbtoolkit.server._spec import PathTemplate, PathVariable
from lbtoolkit.server.http._errors import PathTemplateError

__all__ = ["decode_value", "is_multi_segment", "parse_template"]

_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_LITERAL = re.compile(r"[^/{}*=:]+")
_ESCAPED_SLASH = re.compile("%2[Ff]")


def parse_template(text: str) -> PathTemplate:
    """Parse ``/v1/{name=projects/*/users/*}:verb`` into a :class:`PathTemplate`."""
    if not text.startswith("/"):
        raise PathTemplateError(text, "it must start with '/'")
    body, verb = _split_verb(text)
    if body == "/":
        return PathTemplate((), verb)  # the root, which the generator allows too
    segments: list[str | PathVariable] = []
    for raw in _split_top(body[1:], text):
        if raw.startswith("{"):
            if not raw.endswith("}"):
                raise PathTemplateError(text, f"segment {raw!r} mixes a variable with text")
            segments.append(_variable(raw[1:-1], text))
        else:
            _check_segment(raw, text)
            segments.append(raw)
    template = PathTemplate(tuple(segments), verb)
    _check_double_wildcard(template, text)
    return template


def _split_verb(text: str) -> tuple[str, str]:
    # The verb is a ':' after the last '/' outside braces.
    depth = 0
    colon = -1
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            colon = -1
        elif char == ":" and depth == 0:
            colon = index
    if depth != 0:
        raise PathTemplateError(text, "unbalanced braces")
    if colon < 0:
        return text, ""
    verb = text[colon + 1 :]
    if not _LITERAL.fullmatch(verb):
        raise PathTemplateError(text, f"invalid verb {verb!r}")
    return text[:colon], verb


def _split_top(body: str, text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(body):
        if char == "{":
            depth += 1
            if depth > 1:
                raise PathTemplateError(text, "a variable must not contain another variable")
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            parts.append(body[start:index])
            start = index + 1
    parts.append(body[start:])
    if any(not part for part in parts):
        raise PathTemplateError(text, "empty path segment")
    return parts


def _variable(inner: str, text: str) -> PathVariable:
    field_path, equals, pattern = inner.partition("=")
    if not _FIELD_PATH.fullmatch(field_path):
        raise PathTemplateError(text, f"invalid field path {field_path!r}")
    if not equals:
        return PathVariable(field_path)
    segments = tuple(pattern.split("/"))
    for segment in segments:
        if not segment:
            raise PathTemplateError(text, f"empty segment in variable {{{inner}}}")
        _check_segment(segment, text)
    return PathVariable(field_path, segments)


def _check_segment(segment: str, text: str) -> None:
    if segment not in {"*", "**"} and not _LITERAL.fullmatch(segment):
        raise PathTemplateError(text, f"invalid segment {segment!r}")


def _check_double_wildcard(template: PathTemplate, text: str) -> None:
    flat: list[str] = []
    for segment in template.segments:
        flat.extend(segment.segments if isinstance(segment, PathVariable) else (segment,))
    if "**" in flat[:-1]:
        raise PathTemplateError(text, "'**' must be the last segment")


def is_multi_segment(variable: PathVariable) -> bool:
    """Whether a variable may span several segments (``{name=users/*}``, ``{path=**}``)."""
    return variable.segments != ("*",)


def decode_value(value: str, *, multi_segment: bool) -> str:
    """Percent-decode a matched variable as the specification says.

    A single-segment variable is fully decoded; a multi-segment one keeps
    ``%2F`` as it is, so an escaped slash stays distinguishable from a separator.
    """
    if "%" not in value:
        return value
    if not multi_segment:
        return unquote(value)
    return "%2F".join(unquote(part) for part in _ESCAPED_SLASH.split(value))
