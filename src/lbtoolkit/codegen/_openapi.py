"""The OpenAPI 3.1 document of a .proto file's HTTP routes: ``<file>.openapi.json``.

Paths come from the same checked ``google.api.http`` rules the server routes
by (``Method.rules``, parsed by ``lbtoolkit.spec.PathTemplate``); schemas
follow protobuf's JSON mapping, as the server writes and reads bodies. Proto
comments become descriptions, validation rules (protoc-gen-validate and, when
its module is installed, ``buf.validate``) the JSON Schema keywords that say
the same, and the ``protoc-gen-openapiv2`` options override what they name.
Every operation carries ``x-grpc-method`` so the server can keep the
operations of the services it actually serves when it merges documents.
"""

from __future__ import annotations

import importlib
import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf import descriptor_pb2

from lbtoolkit.proto.validate import validate_pb2
from lbtoolkit.spec import PathVariable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from google.protobuf.message import Message

    from lbtoolkit.codegen._descriptors import DescriptorIndex
    from lbtoolkit.codegen._model import FileModel, Method, Service
    from lbtoolkit.spec import HttpRule, PathTemplate

__all__ = ["ERROR_SCHEMA", "OPENAPI_VERSION", "openapi_document", "render_document"]

OPENAPI_VERSION = "3.1.0"
_Field = descriptor_pb2.FieldDescriptorProto
_Json = dict[str, Any]

# The toolkit's error answer (server/http/_responses.py), grpc-gateway's shape:
# the gRPC code, the message, the status details as Any messages, and the
# HTTP reason phrase.
ERROR_SCHEMA: _Json = {
    "type": "object",
    "description": "An error answer: every status other than 200 has this body.",
    "properties": {
        "code": {
            "type": "integer",
            "minimum": 0,
            "maximum": 16,
            "description": "The gRPC status code (5: NOT_FOUND, ...).",
        },
        "message": {"type": "string", "description": "What went wrong."},
        "details": {
            "type": "array",
            "description": "Further details of the error, each a message named by its @type.",
            "items": {
                "type": "object",
                "properties": {"@type": {"type": "string"}},
                "required": ["@type"],
                "additionalProperties": True,
            },
        },
        "status": {"type": "string", "description": "The reason phrase of the HTTP status."},
    },
    "required": ["code", "message"],
}
_ERROR_NAME = "lbtoolkit.Error"
_ERROR_RESPONSE = {"$ref": "#/components/responses/Error"}

# Paths into FileDescriptorProto / DescriptorProto, the steps of SourceCodeInfo.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE, _SERVICE_METHOD = 2, 2
_RULER = "-=*#/~_+"

_OPERATIONS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_SIGNED_64 = frozenset({_Field.TYPE_INT64, _Field.TYPE_SINT64, _Field.TYPE_SFIXED64})
_UNSIGNED_64 = frozenset({_Field.TYPE_UINT64, _Field.TYPE_FIXED64})
_INT_32 = frozenset({_Field.TYPE_INT32, _Field.TYPE_SINT32, _Field.TYPE_SFIXED32})
_UINT_32 = frozenset({_Field.TYPE_UINT32, _Field.TYPE_FIXED32})
_INT64_PATTERN = r"^-?[0-9]+$"
_UINT64_PATTERN = r"^[0-9]+$"


def _scalar_schema(kind: int) -> _Json:  # noqa: PLR0911 - one answer per proto type
    if kind in _SIGNED_64:
        return {"type": "string", "format": "int64", "pattern": _INT64_PATTERN}
    if kind in _UNSIGNED_64:
        return {"type": "string", "format": "uint64", "pattern": _UINT64_PATTERN}
    if kind in _INT_32:
        return {"type": "integer", "format": "int32"}
    if kind in _UINT_32:
        return {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
    if kind == _Field.TYPE_DOUBLE:
        return {"type": "number", "format": "double"}
    if kind == _Field.TYPE_FLOAT:
        return {"type": "number", "format": "float"}
    if kind == _Field.TYPE_BOOL:
        return {"type": "boolean"}
    if kind == _Field.TYPE_BYTES:
        return {"type": "string", "format": "byte", "contentEncoding": "base64"}
    return {"type": "string"}


def _nullable(schema: _Json) -> _Json:
    return {**schema, "type": [schema["type"], "null"]}


_DURATION = r"^-?[0-9]+(\.[0-9]{1,9})?s$"
# The well-known types in their JSON form.
_WELL_KNOWN: dict[str, _Json] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "An RFC 3339 date-time in UTC, e.g. 2024-01-02T03:04:05.5Z.",
    },
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": _DURATION,
        "description": 'Seconds with up to nine fractional digits and an "s", e.g. 1.5s.',
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Field paths in lowerCamelCase, comma-separated, e.g. displayName,email.",
    },
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "description": 'A message of any type, named by its "@type" URL.',
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": _nullable(_scalar_schema(_Field.TYPE_DOUBLE)),
    "google.protobuf.FloatValue": _nullable(_scalar_schema(_Field.TYPE_FLOAT)),
    "google.protobuf.Int64Value": _nullable(_scalar_schema(_Field.TYPE_INT64)),
    "google.protobuf.UInt64Value": _nullable(_scalar_schema(_Field.TYPE_UINT64)),
    "google.protobuf.Int32Value": _nullable(_scalar_schema(_Field.TYPE_INT32)),
    "google.protobuf.UInt32Value": _nullable(_scalar_schema(_Field.TYPE_UINT32)),
    "google.protobuf.BoolValue": _nullable(_scalar_schema(_Field.TYPE_BOOL)),
    "google.protobuf.StringValue": _nullable(_scalar_schema(_Field.TYPE_STRING)),
    "google.protobuf.BytesValue": _nullable(_scalar_schema(_Field.TYPE_BYTES)),
}
# Messages written as a JSON string or number: they may be path and query values.
_TEXT_WELL_KNOWN = frozenset(
    name
    for name, schema in _WELL_KNOWN.items()
    if schema.get("type") not in (None, "object", "array")
)


def _optional_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# Extensions read from the options, when their modules are installed: PGV is
# shipped; buf.validate and protoc-gen-openapiv2 may be absent.
_PGV = validate_pb2
_BUF: Any = _optional_module("lbtoolkit.proto.buf.validate.validate_pb2") or _optional_module(
    "buf.validate.validate_pb2"
)
_OPENAPIV2: Any = _optional_module("protoc_gen_openapiv2.options.annotations_pb2")
_OPENAPIV2_TYPES: Any = _optional_module("protoc_gen_openapiv2.options.openapiv2_pb2")
_FIELD_BEHAVIOR: Any = _optional_module("google.api.field_behavior_pb2")


def _extension(options: Message, module: Any, name: str) -> Message | None:
    """The extension ``module.name`` of ``options``, or ``None`` when unset.

    Options parsed before the extension's module was imported keep it as
    unknown fields; parsing them again now reads it.
    """
    if module is None:
        return None
    extension = getattr(module, name, None)
    if extension is None or extension.containing_type is not options.DESCRIPTOR:
        return None
    if not options.HasExtension(extension):
        options = type(options).FromString(options.SerializeToString())
        if not options.HasExtension(extension):
            return None
    value: Message = options.Extensions[extension]
    return value


def render_document(document: _Json) -> str:
    """The file's text: stable, readable JSON."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@dataclass
class _TypeInfo:
    full_name: str
    proto_file: str
    path: tuple[int, ...]
    descriptor: Any


@dataclass
class _Types:
    """Messages and enums of the request, with where their comments are."""

    messages: dict[str, _TypeInfo] = field(default_factory=dict)
    enums: dict[str, _TypeInfo] = field(default_factory=dict)
    comments: dict[str, dict[tuple[int, ...], str]] = field(default_factory=dict)
    proto3_files: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> _Types:
        types = cls()
        for file in files:
            prefix = f"{file.package}." if file.package else ""
            if file.syntax == "proto3":
                types.proto3_files.add(file.name)
            types.comments[file.name] = {
                tuple(location.path): text
                for location in file.source_code_info.location
                if (text := _clean(location.leading_comments or location.trailing_comments))
            }
            for position, enum in enumerate(file.enum_type):
                types.enums[prefix + enum.name] = _TypeInfo(
                    prefix + enum.name, file.name, (_FILE_ENUM, position), enum
                )
            types._add_messages(file.name, prefix, (_FILE_MESSAGE,), file.message_type)
        return types

    def _add_messages(
        self,
        proto_file: str,
        prefix: str,
        step: tuple[int, ...],
        messages: Iterable[descriptor_pb2.DescriptorProto],
    ) -> None:
        for position, message in enumerate(messages):
            full_name = prefix + message.name
            path = (*step, position)
            self.messages[full_name] = _TypeInfo(full_name, proto_file, path, message)
            for number, enum in enumerate(message.enum_type):
                self.enums[f"{full_name}.{enum.name}"] = _TypeInfo(
                    f"{full_name}.{enum.name}", proto_file, (*path, _MESSAGE_ENUM, number), enum
                )
            self._add_messages(
                proto_file, f"{full_name}.", (*path, _MESSAGE_NESTED), message.nested_type
            )

    def comment(self, proto_file: str, path: tuple[int, ...]) -> str:
        return self.comments.get(proto_file, {}).get(path, "")


def _clean(comment: str) -> str:
    lines = [
        line
        for line in comment.splitlines()
        if not (len(line.strip()) >= 3 and set(line.strip()) <= set(_RULER))  # noqa: PLR2004
    ]
    return textwrap.dedent("\n".join(lines)).strip()


def _json_name(proto_field: descriptor_pb2.FieldDescriptorProto) -> str:
    if proto_field.json_name:
        return proto_field.json_name
    head, *rest = proto_field.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _is_map(types: _Types, proto_field: descriptor_pb2.FieldDescriptorProto) -> bool:
    if proto_field.type != _Field.TYPE_MESSAGE or proto_field.label != _Field.LABEL_REPEATED:
        return False
    entry = types.messages.get(proto_field.type_name.removeprefix("."))
    return entry is not None and entry.descriptor.options.map_entry


class _Builder:
    """One document: operations, and the schemas they reach, as components."""

    def __init__(self, index: DescriptorIndex, model: FileModel) -> None:
        self._model = model
        self._file = index.files[model.proto_file]
        self._types = _Types.of(index.files.values())
        self._schemas: dict[str, _Json] = {}
        self._paths: dict[str, _Json] = {}
        self._tags: list[_Json] = []
        self._operation_ids: set[str] = set()

    # --- document --------------------------------------------------------------------

    def document(self, services: Iterable[Service]) -> _Json:
        services = list(services)
        info: _Json = {
            "title": ", ".join(s.name for s in services) or self._model.proto_file,
            "version": "0.0.0",
            "description": f"The HTTP routes of {self._model.proto_file}.",
        }
        document: _Json = {"openapi": OPENAPI_VERSION, "info": info}
        document["servers"] = [{"url": "/"}]
        for service in services:
            self._service(service)
        self._schemas[_ERROR_NAME] = ERROR_SCHEMA
        components: _Json = {
            "schemas": dict(sorted(self._schemas.items())),
            "responses": {
                "Error": {
                    "description": "An error.",
                    "content": {"application/json": {"schema": {"$ref": _ref(_ERROR_NAME)}}},
                }
            },
        }
        document["paths"] = self._paths
        document["components"] = components
        document["tags"] = self._tags
        self._file_options(document)
        return document

    def _file_options(self, document: _Json) -> None:
        swagger = _extension(self._file.options, _OPENAPIV2, "openapiv2_swagger")
        if swagger is None:
            return
        info = document["info"]
        given: Any = swagger
        for name in ("title", "version", "description", "terms_of_service"):
            value = getattr(given.info, name)
            if value:
                info[_camel(name)] = value
        if given.info.HasField("contact"):
            info["contact"] = _present(given.info.contact, ("name", "url", "email"))
        if given.info.HasField("license"):
            info["license"] = _present(given.info.license, ("name", "url"))
        for tag in given.tags:
            self._add_tag(tag.name, tag.description, replace=True)
        schemes = {
            name: _security_scheme(scheme)
            for name, scheme in given.security_definitions.security.items()
        }
        if schemes:
            document["components"]["securitySchemes"] = dict(sorted(schemes.items()))
        if given.security:
            document["security"] = [_security_requirement(r) for r in given.security]
        if given.HasField("external_docs"):
            document["externalDocs"] = _present(given.external_docs, ("description", "url"))

    # --- operations ------------------------------------------------------------------

    def _service(self, service: Service) -> None:
        position = next(i for i, s in enumerate(self._file.service) if s.name == service.name)
        descriptor = self._file.service[position]
        tag: Any = _extension(descriptor.options, _OPENAPIV2, "openapiv2_tag")
        description = service.comment
        if tag is not None and tag.description:
            description = str(tag.description)
        self._add_tag(service.name, description, replace=False)
        for number, method in enumerate(service.methods):
            if method.websocket or method.websocket_proxy is not None:
                continue
            if method.client_streaming or method.server_streaming:
                continue  # answered 501 over HTTP: served over gRPC and WebSocket only
            options = descriptor.method[number].options
            for binding, rule in enumerate(method.rules):
                self._operation(service, method, rule, binding, options)

    def _add_tag(self, name: str, description: str, *, replace: bool) -> None:
        for tag in self._tags:
            if tag["name"] == name:
                if replace and description:
                    tag["description"] = description
                return
        tag_entry: _Json = {"name": name}
        if description:
            tag_entry["description"] = description
        self._tags.append(tag_entry)

    def _operation(
        self,
        service: Service,
        method: Method,
        rule: HttpRule,
        binding: int,
        options: descriptor_pb2.MethodOptions,
    ) -> None:
        verb = rule.method.lower()
        if verb not in _OPERATIONS:
            return  # OpenAPI 3.1 has no place for other methods
        path, parameters = self._path(rule.template, method)
        item = self._paths.setdefault(path, {})
        if verb in item:
            return  # the router would refuse the second one; keep the first
        operation: _Json = {"tags": [service.name]}
        summary, description = _split_comment(method.comment)
        if summary:
            operation["summary"] = summary
        if description:
            operation["description"] = description
        operation_id = self._operation_options(operation, options, f"{service.name}_{method.name}")
        operation["operationId"] = self._unique_id(
            operation_id if binding == 0 else f"{operation_id}{binding + 1}"
        )
        operation["x-grpc-method"] = method.grpc_path
        bound = set(rule.template.variables)
        parameters += self._query(method, rule, bound)
        if parameters:
            operation["parameters"] = parameters
        body = self._request_body(method, rule)
        if body is not None:
            operation["requestBody"] = body
        operation["responses"] = {
            "200": self._success(method, rule, verb),
            "default": _ERROR_RESPONSE,
        }
        item[verb] = operation

    def _operation_options(
        self, operation: _Json, options: descriptor_pb2.MethodOptions, operation_id: str
    ) -> str:
        """Apply ``openapiv2_operation``; the operation's id, as it gives it or by default."""
        given: Any = _extension(options, _OPENAPIV2, "openapiv2_operation")
        if given is None:
            return operation_id
        if given.tags:
            operation["tags"] = list(given.tags)
            for name in given.tags:
                self._add_tag(name, "", replace=False)
        for name in ("summary", "description"):
            if getattr(given, name):
                operation[name] = getattr(given, name)
        if given.deprecated:
            operation["deprecated"] = True
        if given.security:
            operation["security"] = [_security_requirement(r) for r in given.security]
        return str(given.operation_id or operation_id)

    def _unique_id(self, wanted: str) -> str:
        candidate, number = wanted, 1
        while candidate in self._operation_ids:
            number += 1
            candidate = f"{wanted}_{number}"
        self._operation_ids.add(candidate)
        return candidate

    def _path(self, template: PathTemplate, method: Method) -> tuple[str, list[_Json]]:
        """The OpenAPI path and its parameters: one per variable, or per wildcard.

        ``{name=shelves/*}`` cannot be one OpenAPI parameter (clients escape the
        slash it holds, and then the route does not match), so its literals are
        written out and each wildcard becomes a parameter of its own.
        """
        parts: list[str] = []
        parameters: list[_Json] = []
        for segment in template.segments:
            if not isinstance(segment, PathVariable):
                parts.append(segment)
                continue
            leaf = self._leaf(method.request.full_name, segment.field_path)
            if not segment.multi_segment or segment.segments == ("*",):
                parts.append("{" + segment.field_path + "}")
                parameters.append(self._path_parameter(segment.field_path, leaf))
                continue
            wildcards = sum(s in {"*", "**"} for s in segment.segments)
            seen = 0
            for piece in segment.segments:
                if piece not in {"*", "**"}:
                    parts.append(piece)
                    continue
                seen += 1
                name = segment.field_path if wildcards == 1 else f"{segment.field_path}_{seen}"
                whole = "/".join(segment.segments)
                schema: _Json = {"type": "string"}
                if piece == "*":
                    schema["pattern"] = "^[^/]+$"
                description = (
                    f'A segment of "{segment.field_path}", which is the whole matched path {whole}'
                    if piece == "*"
                    else f'The rest of the path: "{segment.field_path}" is the whole matched '
                    f"path {whole}, slashes included"
                )
                parts.append("{" + name + "}")
                parameters.append(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "description": description,
                        "schema": schema,
                    }
                )
        path = "/" + "/".join(parts)
        if template.verb:
            path += ":" + template.verb
        return path, parameters

    def _leaf(
        self, message: str, field_path: str
    ) -> tuple[str, descriptor_pb2.FieldDescriptorProto]:
        names = field_path.split(".")
        for position, name in enumerate(names):
            info = self._types.messages[message]
            found = next(f for f in info.descriptor.field if f.name == name)
            if position == len(names) - 1:
                return message, found
            message = found.type_name.removeprefix(".")
        raise AssertionError(field_path)  # pragma: no cover - checked by rules_of

    def _path_parameter(
        self, name: str, leaf: tuple[str, descriptor_pb2.FieldDescriptorProto]
    ) -> _Json:
        owner, proto_field = leaf
        parameter: _Json = {"name": name, "in": "path", "required": True}
        description = self._field_comment(owner, proto_field)
        if description:
            parameter["description"] = description
        parameter["schema"] = self._value_schema(proto_field, rules=self._rules(proto_field))
        return parameter

    def _query(self, method: Method, rule: HttpRule, bound: set[str]) -> list[_Json]:
        if rule.body == "*":
            return []
        parameters: list[_Json] = []
        self._query_fields(
            method.request.full_name,
            "",
            bound=bound,
            skipped={rule.body},
            parameters=parameters,
            seen=(),
        )
        return parameters

    def _query_fields(
        self,
        message: str,
        prefix: str,
        *,
        bound: set[str],
        skipped: set[str],
        parameters: list[_Json],
        seen: tuple[str, ...],
    ) -> None:
        info = self._types.messages[message]
        for proto_field in info.descriptor.field:
            path = prefix + proto_field.name
            if path in bound or (not prefix and proto_field.name in skipped):
                continue
            name = (prefix and self._json_prefix(prefix, message)) + _json_name(proto_field)
            type_name = proto_field.type_name.removeprefix(".")
            if _is_map(self._types, proto_field):
                entry = self._types.messages[type_name].descriptor
                value = entry.field[1]
                if (
                    value.type == _Field.TYPE_MESSAGE
                    and value.type_name.removeprefix(".") not in _TEXT_WELL_KNOWN
                ):
                    continue
                schema = {
                    "type": "object",
                    "additionalProperties": self._value_schema(value, rules=None),
                }
                parameters.append(
                    self._query_parameter(name, message, proto_field, schema, deep=True)
                )
                continue
            nested = proto_field.type == _Field.TYPE_MESSAGE and type_name not in _TEXT_WELL_KNOWN
            if nested:
                repeated = proto_field.label == _Field.LABEL_REPEATED
                if repeated or type_name in seen or type_name in _WELL_KNOWN:
                    continue  # the query cannot carry lists of messages, nor recursion
                self._query_fields(
                    type_name,
                    f"{path}.",
                    bound=bound,
                    skipped=skipped,
                    parameters=parameters,
                    seen=(*seen, message),
                )
                continue
            schema = self._field_schema(proto_field, rules=self._rules(proto_field))
            parameters.append(self._query_parameter(name, message, proto_field, schema))

    def _json_prefix(self, prefix: str, message: str) -> str:
        del message
        head = prefix.rstrip(".").split(".")
        return ".".join(_camel(part) for part in head) + "."

    def _query_parameter(
        self,
        name: str,
        owner: str,
        proto_field: descriptor_pb2.FieldDescriptorProto,
        schema: _Json,
        *,
        deep: bool = False,
    ) -> _Json:
        parameter: _Json = {"name": name, "in": "query"}
        description = self._field_comment(owner, proto_field)
        if description:
            parameter["description"] = description
        if deep:
            parameter["style"] = "deepObject"
            parameter["explode"] = True
        elif schema.get("type") == "array":
            parameter["style"] = "form"
            parameter["explode"] = True
        parameter["schema"] = schema
        return parameter

    def _request_body(self, method: Method, rule: HttpRule) -> _Json | None:
        if not rule.body:
            return None
        required = False
        if rule.body == "*":
            schema = self._message_ref(method.request.full_name)
            description = ""
            # No body reads as the empty message, which a message with required fields refuses.
            required = bool(self._schemas[method.request.full_name].get("required"))
        else:
            body_field = method.request.field(rule.body)
            assert body_field is not None  # checked by rules_of  # noqa: S101
            # A null body leaves the field unset, as null does in a message.
            schema = _or_null(self._field_schema(body_field, rules=self._rules(body_field)))
            description = self._field_comment(method.request.full_name, body_field)
        body: _Json = {"content": {"application/json": {"schema": schema}}}
        if description:
            body["description"] = description
        if required:
            body["required"] = True
        return body

    def _success(self, method: Method, rule: HttpRule, verb: str) -> _Json:
        comment = self._message_comment(method.response.full_name)
        response: _Json = {"description": comment or "OK"}
        if verb == "head":
            return response
        if rule.response_body:
            reply_field = method.response.field(rule.response_body)
            assert reply_field is not None  # checked by rules_of  # noqa: S101
            schema = self._field_schema(reply_field, rules=None)
            response["description"] = (
                self._field_comment(method.response.full_name, reply_field) or "OK"
            )
        else:
            schema = self._message_ref(method.response.full_name)
        response["content"] = {"application/json": {"schema": schema}}
        return response

    # --- schemas ---------------------------------------------------------------------

    def _message_ref(self, full_name: str) -> _Json:
        if full_name not in self._schemas:
            self._schemas[full_name] = {}  # recursion stops at the $ref
            self._schemas[full_name] = self._message_schema(full_name)
        return {"$ref": _ref(full_name)}

    def _enum_ref(self, full_name: str) -> _Json:
        if full_name == "google.protobuf.NullValue":
            return {"type": "null"}
        if full_name not in self._schemas:
            info = self._types.enums[full_name]
            schema: _Json = {
                "type": "string",
                "enum": [value.name for value in info.descriptor.value],
            }
            lines = []
            comment = self._types.comment(info.proto_file, info.path)
            if comment:
                lines.append(comment)
            for number, value in enumerate(info.descriptor.value):
                text = self._types.comment(info.proto_file, (*info.path, _ENUM_VALUE, number))
                if text:
                    lines.append(f"- {value.name}: {text}")
            if lines:
                schema["description"] = "\n".join(lines)
            self._schemas[full_name] = schema
        return {"$ref": _ref(full_name)}

    def _message_comment(self, full_name: str) -> str:
        info = self._types.messages.get(full_name)
        return self._types.comment(info.proto_file, info.path) if info else ""

    def _field_comment(self, owner: str, proto_field: descriptor_pb2.FieldDescriptorProto) -> str:
        info = self._types.messages[owner]
        number = list(info.descriptor.field).index(proto_field)
        return self._types.comment(info.proto_file, (*info.path, _MESSAGE_FIELD, number))

    def _message_schema(self, full_name: str) -> _Json:
        if full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[full_name])
        info = self._types.messages[full_name]
        descriptor: descriptor_pb2.DescriptorProto = info.descriptor
        schema: _Json = {"type": "object"}
        comment = self._types.comment(info.proto_file, info.path)
        if comment:
            schema["description"] = comment
        properties, required, oneofs = self._properties(info)
        if properties:
            schema["properties"] = properties
        if required:
            schema["required"] = list(dict.fromkeys(required))
        constraints = [_one_of(descriptor.oneof_decl[i].name, names) for i, names in oneofs.items()]
        if len(constraints) == 1:
            schema.update(constraints[0])
        elif constraints:
            schema["allOf"] = constraints
        given: Any = _extension(descriptor.options, _OPENAPIV2, "openapiv2_schema")
        if given is not None and given.HasField("json_schema"):
            for name in ("title", "description"):
                value = getattr(given.json_schema, name)
                if value:
                    schema[name] = value
        return schema

    def _properties(self, info: _TypeInfo) -> tuple[_Json, list[str], dict[int, list[str]]]:
        """A message's properties, the required ones, and the members of each real oneof."""
        properties: _Json = {}
        required: list[str] = []
        oneofs: dict[int, list[str]] = {}
        for number, proto_field in enumerate(info.descriptor.field):
            name = _json_name(proto_field)
            rules = self._rules(proto_field)
            property_schema = self._field_schema(proto_field, rules=rules)
            text = self._types.comment(info.proto_file, (*info.path, _MESSAGE_FIELD, number))
            if (rules is not None and rules.required) or proto_field.label == _Field.LABEL_REQUIRED:
                required.append(name)
            elif (
                rules is not None
                and info.proto_file in self._types.proto3_files
                and _refuses_zero(proto_field, rules)
            ):
                # Without presence, a field left out is its zero value, which its rules refuse.
                required.append(name)
            if name not in required:
                # protobuf's JSON mapping reads null as "not set", for every field.
                property_schema = _or_null(property_schema)
            property_schema = _describe(property_schema, text)
            property_schema = self._behaviour(proto_field, property_schema, required, name)
            properties[name] = property_schema
            if proto_field.HasField("oneof_index") and not proto_field.proto3_optional:
                oneofs.setdefault(proto_field.oneof_index, []).append(name)
        return properties, required, oneofs

    def _behaviour(
        self,
        proto_field: descriptor_pb2.FieldDescriptorProto,
        schema: _Json,
        required: list[str],
        name: str,
    ) -> _Json:
        """``google.api.field_behavior``: REQUIRED, OUTPUT_ONLY, INPUT_ONLY."""
        if _FIELD_BEHAVIOR is None:
            return schema
        options = proto_field.options
        extension = _FIELD_BEHAVIOR.field_behavior
        behaviours = set(options.Extensions[extension])
        if not behaviours and options.ByteSize():
            # Options parsed before google.api.field_behavior was imported hold it unknown.
            reparsed = descriptor_pb2.FieldOptions.FromString(options.SerializeToString())
            behaviours = set(reparsed.Extensions[extension])
        names = _FIELD_BEHAVIOR.FieldBehavior
        if names.Value("REQUIRED") in behaviours:
            required.append(name)
        if names.Value("OUTPUT_ONLY") in behaviours:
            schema = {**schema, "readOnly": True}
        if names.Value("INPUT_ONLY") in behaviours:
            schema = {**schema, "writeOnly": True}
        return schema

    def _field_schema(
        self, proto_field: descriptor_pb2.FieldDescriptorProto, *, rules: _Rules | None
    ) -> _Json:
        """A field's whole value: maps and lists included."""
        if _is_map(self._types, proto_field):
            entry = self._types.messages[proto_field.type_name.removeprefix(".")].descriptor
            key, value = entry.field[0], entry.field[1]
            schema: _Json = {
                "type": "object",
                "additionalProperties": self._value_schema(
                    value, rules=rules.values if rules else None
                ),
            }
            names = _key_names(key.type)
            if rules is not None and rules.keys is not None:
                names = {**names, **rules.keys.keywords}
            if names:
                schema["propertyNames"] = names
            if rules is not None:
                schema.update(rules.container)
            return schema
        if proto_field.label == _Field.LABEL_REPEATED:
            schema = {
                "type": "array",
                "items": self._value_schema(proto_field, rules=rules.items if rules else None),
            }
            if rules is not None:
                schema.update(rules.container)
            return schema
        return self._value_schema(proto_field, rules=rules)

    def _value_schema(
        self, proto_field: descriptor_pb2.FieldDescriptorProto, *, rules: _Rules | None
    ) -> _Json:
        """One value of a field (an element, for lists and maps)."""
        type_name = proto_field.type_name.removeprefix(".")
        if proto_field.type == _Field.TYPE_MESSAGE:
            return self._message_ref(type_name)
        if proto_field.type == _Field.TYPE_ENUM:
            schema = self._enum_ref(type_name)
            if rules is not None and rules.enum_names is not None:
                info = self._types.enums[type_name]
                by_number = {v.number: v.name for v in info.descriptor.value}
                allowed, refused = rules.enum_names
                names = [by_number[n] for n in allowed if n in by_number] or list(
                    by_number.values()
                )
                names = [n for n in names if n not in {by_number.get(r) for r in refused}]
                return {"type": "string", "enum": names}
            return schema
        schema = _scalar_schema(proto_field.type)
        if rules is not None:
            schema.update(rules.keywords_for(proto_field.type))
        return schema

    def _rules(self, proto_field: descriptor_pb2.FieldDescriptorProto) -> _Rules | None:
        found: Any = _extension(proto_field.options, _PGV, "rules")
        if found is None:
            found = _extension(proto_field.options, _BUF, "field")
        return _Rules.of(found) if found is not None else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _or_null(schema: _Json) -> _Json:
    """``schema`` or ``null``: a field's value where null stands for "not set"."""
    kind = schema.get("type")
    if kind is None or kind == "null" or isinstance(kind, list) or "const" in schema:
        if "$ref" in schema or "const" in schema:
            return {"anyOf": [schema, {"type": "null"}]}
        return schema  # any value, null included, or already null
    nullable = {**schema, "type": [kind, "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _describe(schema: _Json, text: str) -> _Json:
    # Beside a $ref too: OpenAPI 3.1 schemas are JSON Schema 2020-12, which allows it.
    return {**schema, "description": text} if text else schema


def _split_comment(comment: str) -> tuple[str, str]:
    """A method comment as summary (its first paragraph, when there are more) and description."""
    if "\n\n" in comment:
        summary, _, rest = comment.partition("\n\n")
        return summary.replace("\n", " "), rest.strip()
    return "", comment


def _one_of(name: str, members: list[str]) -> _Json:
    """At most one member of a oneof is set: one alternative each, and one for none."""
    alternatives: list[_Json] = [{"required": [member]} for member in members]
    alternatives.append({"not": {"anyOf": [{"required": [m]} for m in members]}})
    del name
    return {"oneOf": alternatives}


def _key_names(kind: int) -> _Json:
    """Map keys are JSON strings; integer and bool keys are their decimal or literal text."""
    if kind in _SIGNED_64 | _INT_32:
        return {"pattern": _INT64_PATTERN}
    if kind in _UNSIGNED_64 | _UINT_32:
        return {"pattern": _UINT64_PATTERN}
    if kind == _Field.TYPE_BOOL:
        return {"enum": ["true", "false"]}
    return {}


def _present(message: Any, names: Iterable[str]) -> _Json:
    return {name: getattr(message, name) for name in names if getattr(message, name)}


def _security_scheme(scheme: Any) -> _Json:
    """A Swagger 2 security definition in OpenAPI 3's terms."""
    types = _OPENAPIV2_TYPES.SecurityScheme
    result: _Json
    if scheme.type == types.TYPE_BASIC:
        result = {"type": "http", "scheme": "basic"}
    elif scheme.type == types.TYPE_API_KEY:
        where = {types.IN_HEADER: "header", types.IN_QUERY: "query"}.get(
            getattr(scheme, "in"), "header"
        )
        result = {"type": "apiKey", "name": scheme.name, "in": where}
    else:
        flow: _Json = {}
        if scheme.authorization_url:
            flow["authorizationUrl"] = scheme.authorization_url
        if scheme.token_url:
            flow["tokenUrl"] = scheme.token_url
        flow["scopes"] = dict(scheme.scopes.scope)
        kind = {
            types.FLOW_IMPLICIT: "implicit",
            types.FLOW_PASSWORD: "password",
            types.FLOW_APPLICATION: "clientCredentials",
            types.FLOW_ACCESS_CODE: "authorizationCode",
        }.get(scheme.flow, "implicit")
        result = {"type": "oauth2", "flows": {kind: flow}}
    if scheme.description:
        result["description"] = scheme.description
    return result


def _security_requirement(requirement: Any) -> _Json:
    return {
        name: list(value.scope) for name, value in sorted(requirement.security_requirement.items())
    }


@dataclass
class _Rules:
    """A field's validation rules (PGV's ``FieldRules`` or buf.validate's) as keywords."""

    required: bool = False
    scalar: _Json = field(default_factory=dict)
    container: _Json = field(default_factory=dict)
    items: _Rules | None = None
    keys: _Rules | None = None
    values: _Rules | None = None
    enum_names: tuple[list[int], list[int]] | None = None
    numeric: bool = True
    ignores_zero: bool = False

    @property
    def keywords(self) -> _Json:
        return self.scalar

    def keywords_for(self, kind: int) -> _Json:
        if not self.numeric or kind in _SIGNED_64 | _UNSIGNED_64:
            # Bounds of numbers written as strings have no JSON Schema keyword.
            return {k: v for k, v in self.scalar.items() if k in {"enum", "const"}}
        return self.scalar

    @classmethod
    def of(cls, rules: Any) -> _Rules:
        result = cls()
        if _set(rules, "required"):
            result.required = bool(rules.required)
        if _set(rules, "message") and rules.message.required:
            result.required = True
        # buf.validate's `ignore` (any but IGNORE_UNSPECIFIED) skips the zero value, or all.
        result.ignores_zero = bool(getattr(rules, "ignore", 0))
        kind = rules.WhichOneof("type")
        if kind is None:
            return result
        typed = getattr(rules, kind)
        if _set(typed, "ignore_empty"):
            result.ignores_zero = result.ignores_zero or bool(typed.ignore_empty)
        if kind in {"repeated", "map"}:
            result.container_rules(kind, typed)
        elif kind == "string":
            result.scalar = _string_keywords(typed)
        elif kind == "enum":
            result.enum_names = _enum_numbers(typed)
        elif kind == "bool" and _set(typed, "const"):
            result.scalar = {"const": typed.const}
        elif kind in _NUMBER_RULES:
            result.scalar = _number_keywords(typed, as_text=kind in _TEXT_NUMBER_RULES)
        return result

    def container_rules(self, kind: str, typed: Any) -> None:
        """Rules of a list (``repeated``) or a map, and of their elements."""
        if kind == "repeated":
            self.container = _present_keywords(
                typed, {"min_items": "minItems", "max_items": "maxItems", "unique": "uniqueItems"}
            )
            if _set(typed, "items"):
                self.items = _Rules.of(typed.items)
            return
        self.container = _present_keywords(
            typed, {"min_pairs": "minProperties", "max_pairs": "maxProperties"}
        )
        if _set(typed, "keys"):
            self.keys = _Rules.of(typed.keys)
        if _set(typed, "values"):
            self.values = _Rules.of(typed.values)


def _enum_numbers(rules: Any) -> tuple[list[int], list[int]] | None:
    """The numbers an enum's rules allow and refuse, or ``None`` when they name none."""
    allowed = [rules.const] if _set(rules, "const") else list(getattr(rules, "in"))
    refused = list(rules.not_in)
    return (allowed, refused) if allowed or refused else None


def _set(message: Any, name: str) -> bool:
    try:
        return bool(message.HasField(name))
    except ValueError:
        # Repeated and proto3 implicit-presence fields: set when not empty.
        return bool(getattr(message, name, None))


def _present_keywords(message: Any, names: dict[str, str]) -> _Json:
    return {
        keyword: getattr(message, name) for name, keyword in names.items() if _set(message, name)
    }


_TEXT_NUMBER_RULES = frozenset({"int64", "uint64", "sint64", "fixed64", "sfixed64"})
_NUMBER_RULES = (
    _TEXT_NUMBER_RULES
    | {"float", "double", "int32", "uint32", "sint32"}
    | {
        "fixed32",
        "sfixed32",
    }
)
_STRING_FORMATS = {
    "email": "email",
    "hostname": "hostname",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "uri": "uri",
    "uri_ref": "uri-reference",
    "uuid": "uuid",
}


def _string_keywords(rules: Any) -> _Json:
    keywords = _present_keywords(
        rules, {"min_len": "minLength", "max_len": "maxLength", "pattern": "pattern"}
    )
    if _set(rules, "len"):
        keywords["minLength"] = keywords["maxLength"] = rules.len
    if _set(rules, "const"):
        keywords["const"] = rules.const
    allowed = list(getattr(rules, "in"))
    if allowed:
        keywords["enum"] = allowed
    if rules.not_in:
        keywords["not"] = {"enum": list(rules.not_in)}
    well_known = rules.WhichOneof("well_known")
    if well_known in _STRING_FORMATS and getattr(rules, well_known):
        keywords["format"] = _STRING_FORMATS[well_known]
    for keyword in _substring_keywords(rules):
        if keyword.keys() & keywords.keys():
            keywords.setdefault("allOf", []).append(keyword)
        else:
            keywords.update(keyword)
    return keywords


def _substring_keywords(rules: Any) -> list[_Json]:
    """``prefix``, ``suffix``, ``contains`` and ``not_contains`` as patterns."""
    keywords: list[_Json] = []
    if _set(rules, "prefix"):
        keywords.append({"pattern": f"^{_literal(rules.prefix)}"})
    if _set(rules, "suffix"):
        keywords.append({"pattern": f"{_literal(rules.suffix)}$"})
    if _set(rules, "contains"):
        keywords.append({"pattern": _literal(rules.contains)})
    if _set(rules, "not_contains"):
        # "type" inside: null, no string, passes any pattern, so `not` would refuse it.
        keywords.append({"not": {"type": "string", "pattern": _literal(rules.not_contains)}})
    return keywords


# What a regular expression reads as syntax; the rest matches itself (ECMA-262, RE2, Python).
_REGEX_SYNTAX = frozenset("^$\\.*+?()[]{}|/")


def _literal(text: str) -> str:
    """A pattern matching ``text`` itself."""
    return "".join(f"\\{c}" if c in _REGEX_SYNTAX else c for c in text)


def _number_keywords(rules: Any, *, as_text: bool) -> _Json:
    def value(number: Any) -> Any:
        return str(number) if as_text else number

    keywords: _Json = {}
    if _set(rules, "const"):
        keywords["const"] = value(rules.const)
    allowed = list(getattr(rules, "in"))
    if allowed:
        keywords["enum"] = [value(n) for n in allowed]
    if as_text:
        return keywords
    low = {"gt": "exclusiveMinimum", "gte": "minimum"}
    high = {"lt": "exclusiveMaximum", "lte": "maximum"}
    lower = next(((k, rules.__getattribute__(n)) for n, k in low.items() if _set(rules, n)), None)
    upper = next(((k, rules.__getattribute__(n)) for n, k in high.items() if _set(rules, n)), None)
    # gt above lt means "outside the range", which needs two alternatives: left out.
    if lower and upper and lower[1] > upper[1]:
        return keywords
    for bound in (lower, upper):
        if bound is not None:
            keywords[bound[0]] = bound[1]
    return keywords


# Formats the empty string does not have; "" is a valid uri-reference.
_FORMATS_WITHOUT_EMPTY = frozenset(set(_STRING_FORMATS.values()) - {"uri-reference"})


def _refuses_zero(proto_field: descriptor_pb2.FieldDescriptorProto, rules: _Rules) -> bool:
    """Whether a field without presence is refused when left out: its rules refuse its zero value.

    Fields with presence (messages, proto3 ``optional``, oneof members) are
    not checked when unset, so they are never required this way.
    """
    if (
        rules.ignores_zero
        or proto_field.proto3_optional
        or proto_field.HasField("oneof_index")
        or (
            proto_field.type in {_Field.TYPE_MESSAGE, _Field.TYPE_GROUP}
            and proto_field.label != _Field.LABEL_REPEATED
        )
    ):
        return False
    if proto_field.label == _Field.LABEL_REPEATED:
        # A list or a map left out is empty.
        return any(rules.container.get(k, 0) > 0 for k in ("minItems", "minProperties"))
    if proto_field.type == _Field.TYPE_ENUM:
        allowed, refused = rules.enum_names or ([], [])
        return (bool(allowed) and 0 not in allowed) or 0 in refused
    zero: Any
    if proto_field.type in {_Field.TYPE_STRING, _Field.TYPE_BYTES}:
        zero = ""
    elif proto_field.type == _Field.TYPE_BOOL:
        zero = False
    elif proto_field.type in _SIGNED_64 | _UNSIGNED_64:
        zero = "0"
    else:
        zero = 0
    return not _accepts(rules.keywords_for(proto_field.type), zero)


def _accepts(keywords: _Json, value: Any) -> bool:  # noqa: PLR0911 - one answer per keyword
    """Whether ``value`` meets the keywords the rules became (those :class:`_Rules` writes)."""
    if "const" in keywords and keywords["const"] != value:
        return False
    if "enum" in keywords and value not in keywords["enum"]:
        return False
    refused = keywords.get("not", {})
    if value in refused.get("enum", []) or ("pattern" in refused and _matches(refused, value)):
        return False
    if not all(_accepts(part, value) for part in keywords.get("allOf", [])):
        return False
    if isinstance(value, str):
        if keywords.get("minLength", 0) > len(value):
            return False
        if keywords.get("format") in _FORMATS_WITHOUT_EMPTY:
            return False
        return "pattern" not in keywords or _matches(keywords, value)
    lower_ok = value >= keywords.get("minimum", value) and value > keywords.get(
        "exclusiveMinimum", value - 1
    )
    upper_ok = value <= keywords.get("maximum", value) and value < keywords.get(
        "exclusiveMaximum", value + 1
    )
    return bool(lower_ok and upper_ok)


def _matches(keywords: _Json, value: Any) -> bool:
    if not isinstance(value, str):
        return True  # patterns apply to strings only
    try:
        return re.search(keywords["pattern"], value) is not None
    except re.error:
        return True  # a pattern Python cannot read (RE2 syntax): the server decides


def openapi_document(index: DescriptorIndex, model: FileModel) -> _Json | None:
    """The document of ``model``'s file, or ``None`` when no service of it serves HTTP routes."""
    services = [
        s
        for s in model.services
        if "HTTP" in s.servers
        and any(
            m.rules
            and not m.websocket
            and m.websocket_proxy is None
            and not (m.client_streaming or m.server_streaming)
            for m in s.methods
        )
    ]
    if not services:
        return None
    return _Builder(index, model).document(services)
