"""One ``google.api.http`` binding: an HTTP request to the request message, the reply to JSON.

Rules (``google/api/http.proto``): path variables set the fields they name;
``body: "*"`` reads every other field from the JSON body and leaves the query
alone; ``body: "field"`` reads that field from the body, and the query sets
the rest; without ``body`` the query sets every field not bound by the path.
As in the Go toolkit, POST, PUT and PATCH without ``body`` read the whole
request from a body when one is sent (the query still applies).
``response_body`` sends one field of the reply instead of the whole reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from google.protobuf.message import Message
from pydantic_core import from_json, to_json

from lbtoolkit.server.http._codec import Codecs, FieldPlan, MessageCodec, writes_floats
from lbtoolkit.server.http._errors import HttpRouteError, InvalidValue, TranscodeError
from lbtoolkit.spec import HttpRule, MethodSpec

__all__ = ["Binding", "encode_json"]

_BODY = "request body"
_PATH = "URL path"
_QUERY = "query"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_QUERY_KEY = re.compile(r"([^\[\]]+)(?:\[([^\]]*)\])?")
_QUERY_CACHE_SIZE = 512

encode_json: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
).encode
"""JSON text of a value, compact, UTF-8 characters kept (Starlette's ``JSONResponse`` style)."""


def _encode_json_bytes(data: Any) -> bytes:
    return encode_json(data).encode()


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a field path leads: the messages to walk through and the leaf field."""

    path: str  # proto names, dotted: the identity used to filter the query
    chain: tuple[str, ...]
    leaf: FieldPlan

    def assign(self, message: Message, values: list[str], map_key: str | None) -> None:
        target: Any = message
        for name in self.chain:
            target = getattr(target, name)
        leaf = self.leaf
        convert = leaf.text
        assert convert is not None  # noqa: S101 - every planned field can read text
        if leaf.is_map:
            key = leaf.map_key(map_key or "") if leaf.map_key is not None else map_key
            container = getattr(target, leaf.name)
            value = convert(values[-1])
            if leaf.element is not None:
                container[key].CopyFrom(value)
            else:
                container[key] = value
        elif leaf.repeated:
            getattr(target, leaf.name).extend([convert(v) for v in values])
        elif leaf.element is not None:
            getattr(target, leaf.name).CopyFrom(convert(values[0]))
        else:
            setattr(target, leaf.name, convert(values[0]))


def _resolve(codec: MessageCodec, field_path: str) -> _Target:
    """The target of ``user.id`` (names or JSON names); raises :class:`InvalidValue`."""
    parts = field_path.split(".")
    chain: list[str] = []
    for part in parts[:-1]:
        plan = codec.fields.get(part)
        if plan is None:
            raise InvalidValue(f"{codec.full_name} has no field {part!r}")
        if plan.element is None or plan.repeated or plan.is_map:
            raise InvalidValue(f"{codec.full_name}.{plan.name} is not a single message field")
        chain.append(plan.name)
        codec = plan.element
    leaf = codec.fields.get(parts[-1])
    if leaf is None:
        raise InvalidValue(f"{codec.full_name} has no field {parts[-1]!r}")
    return _Target(".".join([*chain, leaf.name]), tuple(chain), leaf)


class Binding:
    """How one rule of one method reads requests and writes replies."""

    def __init__(self, method: MethodSpec, rule: HttpRule, codecs: Codecs) -> None:
        self.route = f"{rule.method} {rule.path} ({method.grpc_path})"
        self.request_codec = codecs.of_class(method.request_type)
        self.response_codec = codecs.of_class(method.response_type)
        self.response_type = method.response_type
        self._request_class = self.request_codec.message_class
        self._whole_body = rule.body == "*"
        self._optional_body = not rule.body and rule.method.upper() in _BODY_METHODS
        self.reads_body = bool(rule.body) or self._optional_body
        self._body_field = self._field(rule.body, "body") if rule.body not in {"", "*"} else None
        self._response_field = (
            self._field(rule.response_body, "response_body", self.response_codec)
            if rule.response_body
            else None
        )
        self._path = tuple(self._path_target(v) for v in rule.template.variables)
        bound = {target.path for target in self._path}
        if self._body_field is not None:
            bound.add(self._body_field.name)
        self._bound = frozenset(bound)
        self._query_cache: dict[str, tuple[_Target, str | None] | None] = {}
        # pydantic's Rust encoder writes the bytes encode_json writes for strings,
        # integers, booleans, null, lists and objects, in a fifth of the time;
        # floats it spells its own way (1.5e-7 for 1.5e-07), so a reply that may
        # hold one keeps encode_json.
        floats = writes_floats(self.response_codec, self._response_field)
        self._write_json: Callable[[Any], bytes] = _encode_json_bytes if floats else to_json

    def _field(self, name: str, option: str, codec: MessageCodec | None = None) -> FieldPlan:
        codec = codec or self.request_codec
        # By its .proto name only, as google.api.http spells field names.
        plan = codec.fields.get(name) if name in codec.descriptor.fields_by_name else None
        if plan is None:
            raise HttpRouteError(
                self.route, f"{option} {name!r}: {codec.full_name} has no such field"
            )
        return plan

    def _path_target(self, field_path: str) -> _Target:
        try:
            target = _resolve(self.request_codec, field_path)
        except InvalidValue as error:
            raise HttpRouteError(self.route, f"path variable {{{field_path}}}: {error}") from None
        leaf = target.leaf
        if leaf.repeated or leaf.is_map or (leaf.element is not None and not _has_text(leaf)):
            reason = f"path variable {{{field_path}}} must name a single scalar field"
            raise HttpRouteError(self.route, reason)
        return target

    # --- requests -----------------------------------------------------------------

    def request(self, body: bytes, path: Mapping[str, str], query: bytes) -> Message:
        """Build the request message; raises :class:`TranscodeError` naming the field."""
        message = self._from_body(body) if self.reads_body else self._request_class()
        for target, value in zip(self._path, path.values(), strict=True):
            try:
                target.assign(message, [value], None)
            except InvalidValue as error:
                raise TranscodeError.of(_PATH, error, target.path) from None
        if query and not self._whole_body:
            self._apply_query(message, query)
        return message

    def _from_body(self, body: bytes) -> Message:
        if not body or body.isspace():
            return self._request_class()
        try:
            data = from_json(body)
        except ValueError:
            # pydantic's Rust parser reads what json.loads reads, to the same
            # values, in a fifth of the time; what it refuses (a BOM, UTF-16,
            # lone surrogates, deep nesting, malformed text) json.loads reads
            # or refuses as it always did, with its own error message.
            try:
                data = json.loads(body)
            except (ValueError, RecursionError) as error:
                raise TranscodeError(_BODY, f"malformed JSON ({error})") from None
        field = self._body_field
        try:
            if field is None:
                return self.request_codec.load(data)
            if data is None:
                return self._request_class()
            return self._request_class(**{field.name: field.load(data)})
        except InvalidValue as error:
            raise TranscodeError.of(_BODY, error) from None

    def _apply_query(self, message: Message, query: bytes) -> None:
        grouped: dict[str, list[str]] = {}
        try:
            # Strict: a value is never read with U+FFFD standing for bytes that were not UTF-8.
            pairs = parse_qsl(query.decode(), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise TranscodeError(_QUERY, "not valid UTF-8 once percent-decoded") from None
        for key, value in pairs:
            grouped.setdefault(key, []).append(value)
        for key, values in grouped.items():
            found = self._query_target(key)
            if found is None:
                continue  # unknown parameters are ignored, as grpc-gateway does
            target, map_key = found
            leaf = target.leaf
            if len(values) > 1 and not leaf.repeated:
                detail = f"takes one value, got {len(values)}"
                raise TranscodeError(_QUERY, detail, key)
            try:
                target.assign(message, values, map_key)
            except InvalidValue as error:
                raise TranscodeError(_QUERY, error.detail, key) from None

    def _query_target(self, key: str) -> tuple[_Target, str | None] | None:
        cache = self._query_cache
        if key in cache:
            return cache[key]
        found = self._find_query_target(key)
        if len(cache) < _QUERY_CACHE_SIZE:
            cache[key] = found
        return found

    def _find_query_target(self, key: str) -> tuple[_Target, str | None] | None:
        match = _QUERY_KEY.fullmatch(key)
        if match is None:
            return None
        field_path, map_key = match.groups()
        try:
            target = _resolve(self.request_codec, field_path)
        except InvalidValue:
            return None
        if (map_key is not None) != target.leaf.is_map:
            return None
        if target.path in self._bound or target.path.split(".")[0] in self._bound:
            return None  # fields bound by the path or carried by the body
        return target, map_key

    # --- replies ------------------------------------------------------------------

    def response(self, reply: Message) -> bytes:
        """The JSON body of a reply (of its ``response_body`` field, if the rule names one)."""
        if type(reply) is not self.response_type and not isinstance(reply, self.response_type):
            msg = (
                f"the handler returned {type(reply).__qualname__}, "
                f"expected {self.response_type.DESCRIPTOR.full_name}"
            )
            raise TypeError(msg)
        field = self._response_field
        if field is None:
            data = self.response_codec.dump(reply)
        else:
            value = getattr(reply, field.name)
            data = value if field.dump is None else field.dump(value)
        return self._write_json(data)


def _has_text(plan: FieldPlan) -> bool:
    # Messages read from text only when their codec has a string form (Timestamp, wrappers...).
    element = plan.element
    return element is not None and type(element).text is not MessageCodec.text
