"""Messages to JSON values and back, planned once per message type.

``google.protobuf.json_format`` walks descriptors and dispatches on field
types for every value of every request. A codec does that walk once, when the
server prepares, and keeps per field the key to write, the function that
converts its value, and the function that reads it back. Well-known types
whose JSON form is special (``Struct``, ``Value``, ``ListValue``, ``Any``),
and messages with extensions, use ``json_format`` itself.

Loading raises :class:`InvalidValue` with the location of the bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from lbtoolkit.server.http._errors import InvalidValue
from lbtoolkit.server.http._scalars import (
    Dump,
    Load,
    describe,
    json_dumper,
    json_loader,
    map_key_loader,
    text_loader,
)

__all__ = ["Codecs", "FieldPlan", "MessageCodec", "writes_floats"]

_ABSENT: Any = object()
_STRING_WKTS = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)
_FLOAT_TYPES = frozenset({FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT})
_JSON_FORMAT_WKTS = frozenset(
    {
        "google.protobuf.Any",
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
    }
)


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """What a codec knows of one field.

    ``load``/``dump`` convert the whole field (a list for a repeated field, a
    dict for a map); ``element`` is the codec of its message type (the element
    type of a repeated field, the value type of a map); ``text`` reads URL
    text into one scalar element; ``map_key`` reads a map key.
    """

    descriptor: FieldDescriptor
    name: str
    key: str
    load: Load
    dump: Dump
    null: Any
    oneof: str | None
    repeated: bool
    is_map: bool
    element: MessageCodec | None
    text: Load | None
    map_key: Load | None


class MessageCodec:
    """JSON values to messages of one type and back."""

    def __init__(self, descriptor: Descriptor, message_class: type[Message]) -> None:
        self.descriptor = descriptor
        self.message_class = message_class
        self.full_name = descriptor.full_name
        self.fields: dict[str, FieldPlan] = {}

    def dump(self, message: Message) -> Any:
        """The JSON value of ``message`` (a dict for ordinary messages)."""
        raise NotImplementedError

    def load(self, data: Any) -> Message:
        """A new message from its JSON value; raises :class:`InvalidValue`."""
        raise NotImplementedError

    def text(self, text: str) -> Message:
        """A message from URL text; only well-known types with a string form allow it."""
        del text
        raise InvalidValue(
            f"{self.full_name} is a message: set its fields one by one (field.subfield=value)"
        )

    def _plan(self, codecs: Codecs) -> None:
        del codecs


class _RegularCodec(MessageCodec):
    def _plan(self, codecs: Codecs) -> None:
        by_number: dict[int, tuple[str, Dump]] = {}
        by_key: dict[str, tuple[str, Load, Any, str | None]] = {}
        for field in self.descriptor.fields:
            plan = _plan_field(field, codecs)
            self.fields[field.name] = self.fields[field.json_name] = plan
            by_number[field.number] = (plan.key, plan.dump)
            entry = (plan.name, plan.load, plan.null, plan.oneof)
            by_key[field.name] = by_key[field.json_name] = entry
        self._by_number = by_number
        self._by_key = by_key
        self._extendable = bool(self.descriptor.extension_ranges)
        self._proto_names = codecs.proto_names
        self._strict = codecs.strict
        self._plain = self._plain_fields()

    def _plain_fields(self) -> tuple[tuple[str, str, Dump], ...] | None:
        """The fields in number order, when a field is set exactly when its value is truthy.

        So it is for fields without presence (proto3's plain scalars, repeated
        fields, maps), except a float or double: -0.0 is set, and false.
        Then reading each field costs less than ``ListFields``' list of pairs.
        """
        if self._extendable:
            return None
        plain = []
        for field in sorted(self.descriptor.fields, key=lambda f: f.number):
            if field.has_presence or (not field.is_repeated and field.cpp_type in _FLOAT_TYPES):
                return None
            plan = self.fields[field.name]
            plain.append((field.name, plan.key, plan.dump))
        return tuple(plain)

    def dump(self, message: Message) -> Any:
        out: dict[str, Any] = {}
        plain = self._plain
        if plain is not None:
            for name, key, dump in plain:
                value = getattr(message, name)
                if value:
                    out[key] = value if dump is None else dump(value)
            return out
        by_number = self._by_number
        for field, value in message.ListFields():
            entry = by_number.get(field.number)
            if entry is None:  # an extension: json_format knows how to name it
                return json_format.MessageToDict(
                    message, preserving_proto_field_name=self._proto_names
                )
            key, dump = entry
            out[key] = value if dump is None else dump(value)
        return out

    def load(self, data: Any) -> Message:  # noqa: C901 - one flat loop: it runs per field per request
        if type(data) is not dict:
            raise InvalidValue(f"expected a JSON object, got {describe(data)}")
        by_key = self._by_key
        kwargs: dict[str, Any] = {}
        oneofs: dict[str, str] | None = None
        for key, value in data.items():
            entry = by_key.get(key)
            if entry is None:
                if self._extendable and key.startswith("["):
                    return _parse_dict(data, self.message_class(), strict=self._strict)
                if self._strict:
                    raise InvalidValue(f"no such field in {self.full_name}").at(key)
                continue  # ignored, as protojson's DiscardUnknown (grpc-gateway's default)
            name, load, null, oneof = entry
            if value is None:
                # null means "not set", except where JSON null is the value itself.
                if null is _ABSENT:
                    kwargs.pop(name, None)
                else:
                    kwargs[name] = null
                continue
            if oneof is not None:
                oneofs = oneofs or {}
                other = oneofs.setdefault(oneof, key)
                if other != key:
                    detail = f"{other!r} is set too, and only one field of oneof {oneof} may be"
                    raise InvalidValue(detail).at(key)
            try:
                kwargs[name] = load(value)
            except InvalidValue as error:
                raise error.at(key) from None
        try:
            return self.message_class(**kwargs)
        except (ValueError, TypeError) as error:
            raise self._locate(kwargs, data, error) from None

    def _locate(self, kwargs: dict[str, Any], data: dict[str, Any], error: Exception) -> Exception:
        # Only reached when protobuf refuses a value the loaders let through
        # (a lone surrogate in a string): find the field it belongs to.
        for name, value in kwargs.items():
            try:
                self.message_class(**{name: value})
            except (ValueError, TypeError) as culprit:
                key = next((k for k in data if self.fields[k].name == name), name)
                return InvalidValue(_reason(culprit)).at(key)
        return InvalidValue(_reason(error))


class _StringCodec(MessageCodec):
    """Timestamp, Duration and FieldMask: a JSON string each."""

    def dump(self, message: Message) -> Any:
        return message.ToJsonString()  # type: ignore[attr-defined]

    def load(self, data: Any) -> Message:
        if type(data) is not str:
            raise InvalidValue(f"expected a string, got {describe(data)}")
        return self.text(data)

    def text(self, text: str) -> Message:
        message = self.message_class()
        try:
            message.FromJsonString(text)  # type: ignore[attr-defined]
        except ValueError as error:
            raise InvalidValue(_reason(error)) from None
        return message


class _WrapperCodec(MessageCodec):
    """``google.protobuf.Int64Value`` and its kin: the JSON value of the wrapped scalar."""

    def _plan(self, codecs: Codecs) -> None:
        del codecs
        field = self.descriptor.fields_by_name["value"]
        self._load = json_loader(field)
        self._dump = json_dumper(field)
        self._text = text_loader(field)

    def dump(self, message: Message) -> Any:
        value = message.value  # type: ignore[attr-defined]
        return value if self._dump is None else self._dump(value)

    def load(self, data: Any) -> Message:
        return _new_message(self.message_class, value=self._load(data))

    def text(self, text: str) -> Message:
        return _new_message(self.message_class, value=self._text(text))


class _JsonFormatCodec(MessageCodec):
    """Struct, Value, ListValue and Any, left to ``json_format``."""

    def _plan(self, codecs: Codecs) -> None:
        self._proto_names = codecs.proto_names
        self._strict = codecs.strict

    def dump(self, message: Message) -> Any:
        return json_format.MessageToDict(message, preserving_proto_field_name=self._proto_names)

    def load(self, data: Any) -> Message:
        return _parse_dict(data, self.message_class(), strict=self._strict)


def _parse_dict(data: Any, message: Message, *, strict: bool) -> Message:
    try:
        return json_format.ParseDict(data, message, ignore_unknown_fields=not strict)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as error:
        raise InvalidValue(_reason(error)) from None


def _reason(error: Exception) -> str:
    return str(error).rstrip(".") or type(error).__name__


class Codecs:
    """The codecs of one server: one per message type, shared by every route.

    ``proto_names`` writes fields under their .proto names instead of their
    lowerCamelCase JSON names; reading accepts both either way. Keys that name
    no field are ignored, unless ``strict``: then they are refused.
    """

    def __init__(self, *, proto_names: bool = False, strict: bool = False) -> None:
        self.proto_names = proto_names
        self.strict = strict
        self._codecs: dict[str, MessageCodec] = {}

    def of(self, descriptor: Descriptor) -> MessageCodec:
        """The codec of a message type (by its descriptor), planned on first use."""
        codec = self._codecs.get(descriptor.full_name)
        if codec is None:
            codec = _codec_class(descriptor)(descriptor, _message_class(descriptor))
            # Registered before planning so that recursive types find themselves.
            self._codecs[descriptor.full_name] = codec
            codec._plan(self)  # noqa: SLF001 - the registry owns planning
        return codec

    def of_class(self, message_class: type[Message]) -> MessageCodec:
        """The codec of a generated message class."""
        descriptor: Descriptor = message_class.DESCRIPTOR  # type: ignore[assignment]
        return self.of(descriptor)


def writes_floats(codec: MessageCodec, field: FieldPlan | None = None) -> bool:
    """Whether the JSON value a codec dumps (or one of its fields, ``field``) may hold a float.

    Anything ``json_format`` writes (``Struct``, ``Value``, ``Any``,
    extensions) may. Without floats, every JSON encoder writes the same text.
    """
    seen: set[str] = set()
    if field is not None:
        return _plan_writes_floats(field, seen)
    return _codec_writes_floats(codec, seen)


def _codec_writes_floats(codec: MessageCodec, seen: set[str]) -> bool:
    if codec.full_name in seen:  # a recursive type: its fields are being looked at already
        return False
    seen.add(codec.full_name)
    if isinstance(codec, _StringCodec):
        return False
    if isinstance(codec, _WrapperCodec):
        return codec.descriptor.fields_by_name["value"].cpp_type in _FLOAT_TYPES
    if not isinstance(codec, _RegularCodec) or codec.descriptor.extension_ranges:
        return True
    return any(_plan_writes_floats(plan, seen) for plan in codec.fields.values())


def _plan_writes_floats(plan: FieldPlan, seen: set[str]) -> bool:
    if plan.element is not None:
        return _codec_writes_floats(plan.element, seen)
    field = plan.descriptor
    if plan.is_map:
        entry = field.message_type
        assert entry is not None  # noqa: S101 - a map field's type is its entry message
        field = entry.fields_by_name["value"]
    return field.cpp_type in _FLOAT_TYPES


def _message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def _codec_class(descriptor: Descriptor) -> type[MessageCodec]:
    if descriptor.file.name == "google/protobuf/wrappers.proto":
        return _WrapperCodec
    if descriptor.full_name in _STRING_WKTS:
        return _StringCodec
    if descriptor.full_name in _JSON_FORMAT_WKTS:
        return _JsonFormatCodec
    return _RegularCodec


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return bool(entry is not None and entry.GetOptions().map_entry)


def _plan_field(field: FieldDescriptor, codecs: Codecs) -> FieldPlan:
    key = field.name if codecs.proto_names else field.json_name
    oneof = field.containing_oneof
    common: dict[str, Any] = {
        "descriptor": field,
        "name": field.name,
        "key": key,
        # Synthetic oneofs of proto3 `optional` fields hold one field: nothing to check.
        "oneof": oneof.name if oneof is not None and len(oneof.fields) > 1 else None,
    }
    if _is_map(field):
        return _plan_map(field, codecs, common)
    element = codecs.of(field.message_type) if field.message_type is not None else None
    if element is not None:
        load: Load = element.load
        dump: Dump = element.dump
        text: Load | None = element.text
    else:
        load = json_loader(field)
        dump = json_dumper(field)
        text = text_loader(field)
    null = _null_value(field)
    if field.is_repeated:
        return FieldPlan(
            **common,
            load=_list_loader(load),
            dump=_list_dumper(dump),
            null=_ABSENT,
            repeated=True,
            is_map=False,
            element=element,
            text=text,
            map_key=None,
        )
    return FieldPlan(
        **common,
        load=load,
        dump=dump,
        null=null,
        repeated=False,
        is_map=False,
        element=element,
        text=text,
        map_key=None,
    )


def _new_message(message_class: type[Message], **fields: Any) -> Message:
    # The stubs declare no keyword arguments on Message itself; generated
    # classes take one per field.
    return message_class(**fields)


def _null_value(field: FieldDescriptor) -> Any:
    if field.message_type is not None and field.message_type.full_name == "google.protobuf.Value":
        return _new_message(_message_class(field.message_type), null_value=0)
    if field.enum_type is not None and field.enum_type.full_name == "google.protobuf.NullValue":
        return 0
    return _ABSENT


def _plan_map(field: FieldDescriptor, codecs: Codecs, common: dict[str, Any]) -> FieldPlan:
    entry = field.message_type
    assert entry is not None  # noqa: S101 - a map field's type is its entry message
    key_field = entry.fields_by_name["key"]
    value_field = entry.fields_by_name["value"]
    element = None
    if value_field.message_type is not None:
        element = codecs.of(value_field.message_type)
        load: Load = element.load
        dump: Dump = element.dump
        text: Load | None = element.text
    else:
        load = json_loader(value_field)
        dump = json_dumper(value_field)
        text = text_loader(value_field)
    key_load = map_key_loader(key_field)
    bool_keys = key_field.type == FieldDescriptor.TYPE_BOOL
    return FieldPlan(
        **common,
        load=_map_loader(key_load, load),
        dump=_map_dumper(dump, bool_keys=bool_keys),
        null=_ABSENT,
        repeated=False,
        is_map=True,
        element=element,
        text=text,
        map_key=key_load,
    )


def _list_loader(item: Load) -> Load:
    def load(value: Any) -> list[Any]:
        if type(value) is not list:
            raise InvalidValue(f"expected an array, got {describe(value)}")
        try:
            return [item(v) for v in value]
        except InvalidValue:
            pass
        for index, element in enumerate(value):
            try:
                item(element)
            except InvalidValue as error:
                raise error.at(f"[{index}]") from None
        raise AssertionError  # pragma: no cover - the first pass failed on some element

    return load


def _list_dumper(item: Dump) -> Dump:
    if item is None:
        return list
    return lambda value: [item(v) for v in value]


def _map_loader(key: Load, value: Load) -> Load:
    def load(data: Any) -> dict[Any, Any]:
        if type(data) is not dict:
            raise InvalidValue(f"expected an object, got {describe(data)}")
        try:
            return {key(k): value(v) for k, v in data.items()}
        except InvalidValue:
            pass
        for k, v in data.items():
            try:
                key(k)
                value(v)
            except InvalidValue as error:
                raise error.at(f"[{k}]") from None
        raise AssertionError  # pragma: no cover - the first pass failed on some entry

    return load


def _map_dumper(value: Dump, *, bool_keys: bool) -> Callable[[Any], Any]:
    if bool_keys:
        if value is None:
            return lambda data: {("true" if k else "false"): v for k, v in data.items()}
        return lambda data: {("true" if k else "false"): value(v) for k, v in data.items()}
    if value is None:
        return lambda data: {str(k): v for k, v in data.items()}
    return lambda data: {str(k): value(v) for k, v in data.items()}
