"""The variables a config model reads: full names, defaults, nesting."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from lbtoolkit.config._constraints import describe_rule
from lbtoolkit.config._convert import display
from lbtoolkit.config._errors import ConfigModelError
from lbtoolkit.config._fields import EnvSpec, PrefixSpec, normalize, spec_of
from lbtoolkit.config._secrets import MASK
from lbtoolkit.config._types import is_secret, strip_annotated, type_name

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["Group", "Layout", "Slot", "Variable", "base_prefix", "describe_model"]


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable as ``--help`` shows it.

    ``default`` is display text ("" when there is none; ``******`` for a
    secret); ``owner`` is who parsed it; ``aliases`` are the other full names
    also read; ``rule`` is what a value must be (``0-65535``), from the
    field's constraints.
    """

    name: str
    default: str
    required: bool
    description: str
    secret: bool
    owner: str
    type_name: str
    aliases: tuple[str, ...] = ()
    rule: str = ""


@dataclass(frozen=True, slots=True)
class Slot:
    """One leaf field of a config model and the variable that fills it.

    ``path`` holds the keys of the data the model is validated from (aliases
    where a field has one); ``fields`` the attribute names that lead to the
    value on a parsed instance.
    """

    path: tuple[str, ...]
    fields: tuple[str, ...]
    name: str
    aliases: tuple[str, ...]
    annotation: Any
    field: FieldInfo
    default: Any
    required: bool
    supply_default: bool

    @property
    def secret(self) -> bool:
        """Whether the value must never be shown."""
        return is_secret(self.annotation)

    def variable(self, owner: str) -> Variable:
        """Describe this slot for display."""
        shown = "" if self.default is PydanticUndefined else display(self.default)
        if self.secret and shown:
            shown = MASK
        return Variable(
            name=self.name,
            default=shown,
            required=self.required,
            description=self.field.description or "",
            secret=self.secret,
            owner=owner,
            type_name=type_name(self.annotation),
            aliases=self.aliases,
            rule=describe_rule(self.annotation, self.field.metadata),
        )


@dataclass(frozen=True, slots=True)
class Group:
    """A nested model field; ``label`` names its variables (``X_DB_*``)."""

    path: tuple[str, ...]
    model: type[BaseModel]
    label: str


@dataclass(frozen=True, slots=True)
class Layout:
    """Every leaf (in field order, nested ones in place) and nested model."""

    label: str
    slots: tuple[Slot, ...]
    groups: tuple[Group, ...]


def base_prefix(*parts: str) -> str:
    """Join service and plugin prefixes: ``("svc", "pgsql")`` -> ``SVC_PGSQL_``."""
    kept = [normalize(p).rstrip("_") for p in parts]
    return "".join(f"{p}_" for p in kept if p)


def describe_model(model: type[BaseModel], prefix: str) -> Layout:
    """Lay out the variables of ``model`` under the full ``prefix``."""
    walker = _Walker(stack=[model])
    walker.walk(model, prefix, (), (), None)
    label = f"{prefix}*" if prefix else model.__name__
    return Layout(label, tuple(walker.slots), tuple(walker.groups))


@dataclass(slots=True)
class _Walker:
    stack: list[type[BaseModel]]
    slots: list[Slot] = dataclasses.field(default_factory=list)
    groups: list[Group] = dataclasses.field(default_factory=list)

    def walk(
        self,
        model: type[BaseModel],
        prefix: str,
        path: tuple[str, ...],
        fields: tuple[str, ...],
        source: BaseModel | None,
    ) -> None:
        for name, info in model.model_fields.items():
            here = (*path, info.alias or name)
            attributes = (*fields, name)
            nested = _nested_model(info.annotation)
            prefix_spec = spec_of(info, PrefixSpec)
            if nested is None:
                if prefix_spec is not None:
                    problem = (
                        f"field {name!r} uses env_prefix() but its type "
                        f"{type_name(info.annotation)} is not a pydantic model"
                    )
                    raise ConfigModelError(model, problem)
                self.slots.append(
                    _slot(name, info, prefix, path=here, fields=attributes, source=source)
                )
                continue
            if nested in self.stack:
                problem = f"field {name!r} nests {nested.__qualname__} inside itself"
                raise ConfigModelError(model, problem)
            part = name if prefix_spec is None else prefix_spec.prefix
            inner = prefix + _as_prefix(part)
            self.groups.append(Group(here, nested, f"{inner}*"))
            self.stack.append(nested)
            self.walk(nested, inner, here, attributes, _nested_default(info, source, name))
            self.stack.pop()


def _slot(
    name: str,
    field: FieldInfo,
    prefix: str,
    *,
    path: tuple[str, ...],
    fields: tuple[str, ...],
    source: BaseModel | None,
) -> Slot:
    spec = spec_of(field, EnvSpec)
    own = spec.name if spec is not None and spec.name else name
    aliases = () if spec is None else tuple(prefix + normalize(a) for a in spec.aliases)
    default, required, supply = _default(field, source, name)
    return Slot(
        path=path,
        fields=fields,
        name=prefix + normalize(own),
        aliases=aliases,
        annotation=field.annotation,
        field=field,
        default=default,
        required=required,
        supply_default=supply,
    )


def _default(field: FieldInfo, source: BaseModel | None, name: str) -> tuple[Any, bool, bool]:
    """``(default, required, must be passed explicitly)`` of a leaf field.

    Inside a nested model given as a default instance, the instance's values
    are the defaults; the controller passes them because it always builds the
    nested model from a dict.
    """
    if source is not None and name in source.__dict__:
        return source.__dict__[name], False, True
    if field.default_factory is not None:
        if getattr(field, "default_factory_takes_validated_data", False):
            return PydanticUndefined, False, False
        return field.default_factory(), False, False  # type: ignore[call-arg]
    return field.default, field.default is PydanticUndefined, False


def _nested_default(field: FieldInfo, source: BaseModel | None, name: str) -> BaseModel | None:
    if source is not None:
        value = source.__dict__.get(name)
    else:
        value, _, _ = _default(field, None, name)
    return value if isinstance(value, BaseModel) else None


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    tp = strip_annotated(annotation)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def _as_prefix(part: str) -> str:
    text = normalize(part)
    return text if not text or text.endswith("_") else f"{text}_"
