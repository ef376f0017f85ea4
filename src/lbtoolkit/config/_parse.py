"""Read one config model from the environment, collecting problems."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined

from lbtoolkit.config._convert import ConversionError, convert, reads_default
from lbtoolkit.config._errors import REQUIRED_NOT_SET, ConfigIssue
from lbtoolkit.config._types import MAPPING_ORIGINS, split_optional, zero_value
from lbtoolkit.config._wording import explain

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic.fields import FieldInfo
    from pydantic_core import ErrorDetails

    from lbtoolkit.config._layout import Layout, Slot

__all__ = ["load"]

M = TypeVar("M", bound=BaseModel)
Path = tuple[str, ...]
HIDDEN = "invalid value (hidden)"


def load(
    model: type[M], layout: Layout, environ: Mapping[str, str], owner: str
) -> tuple[M, list[ConfigIssue]]:
    """Build ``model`` from ``environ``; never raises for bad values.

    When something is wrong the instance is put together from the values that
    are fine, the defaults, and zero values for missing required variables.
    """
    reader = _Reader(layout, environ, owner)
    data = reader.read()
    try:
        instance = model.model_validate(data)
    except ValidationError as exc:
        bad = reader.record(exc)
        instance = _construct(model, (), data, layout, bad)
    return instance, reader.sorted_issues()


class _Reader:
    def __init__(self, layout: Layout, environ: Mapping[str, str], owner: str) -> None:
        self.issues: list[ConfigIssue] = []
        self._layout = layout
        self._environ = environ
        self._owner = owner
        self._texts: dict[Path, str] = {}
        # The name a value was read under: a problem with it is reported there,
        # an alias included, since that is the name the user wrote.
        self._read_as: dict[Path, str] = {}
        self._flagged: set[Path] = set()

    def sorted_issues(self) -> list[ConfigIssue]:
        """The issues in field order, whole-model ones last, as help lists them."""
        order = {
            name: index
            for index, slot in enumerate(self._layout.slots)
            for name in (slot.name, *slot.aliases)
        }
        return sorted(self.issues, key=lambda issue: order.get(issue.variable, len(order)))

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for group in self._layout.groups:
            _put(data, group.path, {})
        for slot in self._layout.slots:
            self._read_slot(slot, data)
        return data

    def _read_slot(self, slot: Slot, data: dict[str, Any]) -> None:
        found = [n for n in (slot.name, *slot.aliases) if n in self._environ]
        if len({self._environ[n] for n in found}) > 1:
            names = " and ".join(found)
            self._flag(slot, f"{names} are set to different values", f"set only {slot.name}")
        elif found:
            text = self._environ[found[0]]
            self._texts[slot.path] = text
            self._read_as[slot.path] = found[0]
            if self._convert(slot, text, data, ""):
                return
            del self._read_as[slot.path]
        elif slot.required:
            self._flag(slot, REQUIRED_NOT_SET)
            return
        # Unset, or set but unusable: the field gets what it has without the variable.
        if reads_default(slot.annotation, slot.default):
            if not self._convert(slot, slot.default, data, "default value: "):
                # pydantic would keep the unconverted text default as is.
                _put(data, slot.path, zero_value(slot.annotation))
        elif slot.supply_default:
            _put(data, slot.path, slot.default)

    def _convert(self, slot: Slot, text: str, data: dict[str, Any], where: str) -> bool:
        try:
            _put(data, slot.path, convert(text, slot.annotation))
        except ConversionError as exc:
            self._flag(slot, where + (HIDDEN if slot.secret else str(exc)))
            return False
        return True

    def record(self, exc: ValidationError) -> set[Path]:
        """Turn pydantic's errors into issues; return the paths that failed."""
        slots: dict[tuple[Any, ...], Slot] = {s.path: s for s in self._layout.slots}
        groups: dict[tuple[Any, ...], str] = {g.path: g.label for g in self._layout.groups}
        bad: set[Path] = set()
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            size = next((n for n in range(len(loc), 0, -1) if loc[:n] in slots), 0)
            if not size:
                label = next(
                    (groups[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in groups),
                    self._layout.label,
                )
                message = self._redact(explain(error, Any, ()))
                self.issues.append(ConfigIssue(label, message, self._owner))
                continue
            slot = slots[loc[:size]]
            bad.add(slot.path)
            if slot.path not in self._flagged:
                self._flag(slot, self._message(slot, error, loc[size:]))
        return bad

    def _message(self, slot: Slot, error: ErrorDetails, rest: tuple[Any, ...]) -> str:
        base, _ = split_optional(slot.annotation)
        if rest:
            message = explain(error, _item_type(base, rest), ())
        else:
            message = explain(error, slot.annotation, slot.field.metadata)
        if rest and (get_origin(base) or base) in MAPPING_ORIGINS:
            message = f"key {rest[0]!r}: {message}"
        elif rest and isinstance(rest[0], int):
            message = f"item {rest[0] + 1}: {message}"
        if not slot.secret:
            return message
        text = self._texts.get(slot.path, "")
        # The text may come back inside a validator's own message.
        return HIDDEN if text and text in message else f"{HIDDEN}: {message}"

    def _redact(self, message: str) -> str:
        """Hide a whole-model message that quotes any secret read for this model."""
        secrets = (self._texts.get(slot.path, "") for slot in self._layout.slots if slot.secret)
        return HIDDEN if any(text and text in message for text in secrets) else message

    def _flag(self, slot: Slot, message: str, hint: str = "") -> None:
        self._flagged.add(slot.path)
        name = self._read_as.get(slot.path, slot.name)
        self.issues.append(ConfigIssue(name, message, self._owner, hint))


def _item_type(container: Any, rest: tuple[Any, ...]) -> Any:
    """The type of the item of ``container`` an error inside it is about."""
    args = get_args(container)
    if not args:
        return Any
    if (get_origin(container) or container) in MAPPING_ORIGINS:
        # A key's error ends with "[key]"; a value's with the key alone.
        return args[0] if rest[-1] == "[key]" else args[-1]
    if get_origin(container) is tuple and Ellipsis not in args and isinstance(rest[0], int):
        return args[rest[0]] if rest[0] < len(args) else Any
    return args[0]


def _put(data: dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def _construct(
    model: type[M], path: Path, data: dict[str, Any], layout: Layout, bad: set[Path]
) -> M:
    groups = {group.path: group for group in layout.groups}
    slots = {slot.path: slot for slot in layout.slots}
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        here = (*path, key)
        if here in groups:
            nested = groups[here].model
            values[key] = _construct(nested, here, data.get(key, {}), layout, bad)
            continue
        slot = slots[here]
        value = PydanticUndefined if here in bad else data.get(key, PydanticUndefined)
        if value is not PydanticUndefined:
            value = _typed(field, value)
        if value is not PydanticUndefined:
            values[key] = value
        elif slot.supply_default:
            values[key] = slot.default
        elif slot.required or reads_default(slot.annotation, slot.default):
            values[key] = zero_value(slot.annotation)
    return model.model_construct(**values)


def _typed(field: FieldInfo, value: Any) -> Any:
    form: Any = field.annotation
    if field.metadata:
        form = Annotated[(form, *field.metadata)]
    try:
        return TypeAdapter(form).validate_python(value)
    except ValidationError:
        return PydanticUndefined
