"""``google.api.http`` path templates: the one grammar and the one matcher compiler.

The generator parses the templates of ``.proto`` files with it, ``add_handler``
the paths it is given, and the HTTP router matches requests with the regular
expressions it compiles, so a path one of them accepts is a path all accept.

The grammar (``google/api/http.proto``, as grpc-gateway reads it)::

    Template  = "/" [ Segments ] [ Verb ] ;
    Segments  = Segment { "/" Segment } ;
    Segment   = "*" | "**" | LITERAL | Variable ;
    Variable  = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb      = ":" LITERAL ;

A LITERAL is one or more RFC 3986 path characters (``pchar``) but those the
template itself gives a meaning: ``:`` starts the verb, ``*`` is a wildcard,
``=`` binds a pattern; a ``%`` starts a two-digit hex escape. ``**`` may only
be the last segment, and a template binds each field once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from lbtoolkit._exceptions import LbToolkitError

__all__ = ["PathTemplate", "PathTemplateError", "PathVariable"]

_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LITERAL = re.compile(r"(?:[A-Za-z0-9._~!$&'()+,;@-]|%[0-9A-Fa-f]{2})+")
_LITERAL_TEXT = "letters, digits, %XX escapes and -._~!$&'()+,;@"
# What each wildcard matches in a raw (still percent-encoded) request path.
_WILDCARDS = {"*": "[^/]+", "**": ".+"}
_ESCAPED_SLASH = re.compile("%2[Ff]")


class PathTemplateError(LbToolkitError, ValueError):
    """A ``google.api.http`` path template that does not follow its grammar."""

    def __init__(self, template: str, reason: str) -> None:
        super().__init__(template, reason)
        self.template = template
        self.reason = reason

    def __str__(self) -> str:
        return f'path template "{self.template}": {self.reason}'


@dataclass(frozen=True, slots=True)
class PathVariable:
    """``{field.path}`` or ``{field.path=segments}`` in a path template."""

    field_path: str
    segments: tuple[str, ...] = ("*",)

    def __str__(self) -> str:
        if self.segments == ("*",):
            return "{" + self.field_path + "}"
        return "{" + self.field_path + "=" + "/".join(self.segments) + "}"

    @property
    def multi_segment(self) -> bool:
        """Whether the value may span several segments (``{name=users/*}``, ``{path=**}``)."""
        return self.segments != ("*",)

    def decode(self, value: str) -> str:
        """The matched raw ``value``, percent-decoded as ``google/api/http.proto`` says.

        A single-segment value is fully decoded; a multi-segment one keeps
        ``%2F`` as it is, so an escaped slash stays apart from a separator.
        """
        if "%" not in value:
            return value
        if not self.multi_segment:
            return unquote(value)
        return "%2F".join(unquote(part) for part in _ESCAPED_SLASH.split(value))


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A parsed path: literals, wildcards and variables, then an optional verb."""

    segments: tuple[str | PathVariable, ...]
    verb: str = ""

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        """Parse ``/v1/{name=shelves/*/books/*}:verb``; ``PathTemplateError`` says what is wrong."""
        if not text.startswith("/"):
            raise PathTemplateError(text, 'it must start with "/"')
        _check_braces(text)
        body, verb = _split_verb(text)
        if body == "/":
            return cls((), verb)
        segments = tuple(_segment(text, raw) for raw in _split_segments(body[1:]))
        template = cls(segments, verb)
        if "**" in template._flat()[:-1]:
            raise PathTemplateError(text, '"**" may only be the last segment')
        seen: set[str] = set()
        for field_path in template.variables:
            if field_path in seen:
                raise PathTemplateError(text, f'it binds "{field_path}" twice')
            seen.add(field_path)
        return template

    def __str__(self) -> str:
        path = "/" + "/".join(str(segment) for segment in self.segments)
        return f"{path}:{self.verb}" if self.verb else path

    @property
    def variables(self) -> tuple[str, ...]:
        """The field paths bound by the template, in order."""
        return tuple(s.field_path for s in self.segments if isinstance(s, PathVariable))

    @property
    def is_literal(self) -> bool:
        """Whether exactly one path matches: no wildcard, no variable."""
        return all(isinstance(s, str) and s not in _WILDCARDS for s in self.segments)

    @property
    def precedence(self) -> tuple[bool, int, bool]:
        """Sorts the more specific of overlapping templates first.

        With a verb first (``/v1/{name}:cancel`` before ``/v1/{name}``), then
        more literal segments, then without ``**``.
        """
        flat = self._flat()
        literals = sum(1 for s in flat if s not in _WILDCARDS)
        return (not self.verb, -literals, "**" in flat)

    @property
    def pattern(self) -> str:
        """The regular expression of the raw paths it matches.

        One group per variable, in order, and no other group, so that patterns
        can be joined into one alternation.
        """
        parts: list[str] = []
        for segment in self.segments:
            if isinstance(segment, PathVariable):
                parts.append("(" + "/".join(map(_segment_pattern, segment.segments)) + ")")
            else:
                parts.append(_segment_pattern(segment))
        verb = ":" + re.escape(self.verb) if self.verb else ""
        return "/" + "/".join(parts) + verb

    def _flat(self) -> list[str]:
        flat: list[str] = []
        for segment in self.segments:
            flat.extend(segment.segments if isinstance(segment, PathVariable) else (segment,))
        return flat


def _segment_pattern(segment: str) -> str:
    return _WILDCARDS.get(segment) or re.escape(segment)


def _check_braces(text: str) -> None:
    depth = 0
    for char in text:
        if char == "{":
            if depth:
                raise PathTemplateError(text, "variables cannot nest")
            depth = 1
        elif char == "}":
            if not depth:
                raise PathTemplateError(text, '"}" without "{"')
            depth = 0
    if depth:
        raise PathTemplateError(text, '"{" is not closed')


def _split_verb(text: str) -> tuple[str, str]:
    # The verb follows a ":" of the last segment, outside braces; a ":" in
    # another segment is left to the segment check to refuse.
    outside = re.sub(r"\{[^}]*\}", lambda found: "_" * len(found[0]), text)
    colon = outside.rfind(":")
    if colon < outside.rfind("/"):
        return text, ""
    verb = text[colon + 1 :]
    if not _LITERAL.fullmatch(verb):
        reason = f'invalid verb ":{verb}"; a verb has {_LITERAL_TEXT} only'
        raise PathTemplateError(text, reason)
    return text[:colon], verb


def _split_segments(body: str) -> list[str]:
    parts: list[str] = []
    start = 0
    inside = False
    for index, char in enumerate(body):
        if char in "{}":
            inside = char == "{"
        elif char == "/" and not inside:
            parts.append(body[start:index])
            start = index + 1
    parts.append(body[start:])
    return parts


def _segment(text: str, raw: str) -> str | PathVariable:
    if not (raw.startswith("{") and raw.endswith("}")):
        return _plain_segment(text, raw)
    field_path, equals, pattern = raw[1:-1].partition("=")
    if not _FIELD_PATH.fullmatch(field_path):
        raise PathTemplateError(text, f'invalid field path "{field_path}"')
    if not equals:
        return PathVariable(field_path)
    return PathVariable(field_path, tuple(_plain_segment(text, s) for s in pattern.split("/")))


def _plain_segment(text: str, raw: str) -> str:
    if raw in _WILDCARDS or _LITERAL.fullmatch(raw):
        return raw
    if not raw:
        raise PathTemplateError(text, "it has an empty segment")
    if "{" in raw or "}" in raw:
        raise PathTemplateError(text, "a variable must be a whole segment")
    raise PathTemplateError(text, f'invalid segment "{raw}"; a literal has {_LITERAL_TEXT} only')
