"""``env()`` and ``env_prefix()``: the Go toolkit's struct tags as pydantic fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field
from pydantic_core import PydanticUndefined

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic.fields import FieldInfo

__all__ = ["EnvSpec", "PrefixSpec", "env", "env_prefix", "normalize", "spec_of"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """What ``env()`` attached to a field: its variable name and aliases."""

    name: str | None
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrefixSpec:
    """What ``env_prefix()`` attached to a nested model field."""

    prefix: str


def env(
    name: str | None = None,
    *,
    default: Any = PydanticUndefined,
    comment: str = "",
    aliases: Sequence[str] = (),
) -> Any:
    """Declare the environment variable behind a config field.

    ``name`` is the variable's name without prefixes (default: the field name
    in upper case); without ``default`` the variable is required; ``comment``
    is the description shown by ``--help``. ``aliases`` are other names read
    too (for deployments that still use an older name); help shows only
    ``name``. The default of a field that is not ``str`` may be written as
    text (``"5s"``, ``"5432"``), as Go's ``envDefault`` is; it is read like
    the variable would be.

    Returns a pydantic ``Field``, so ``host: str = env("HOST", default="x")``
    type-checks.
    """
    alias_names = (aliases,) if isinstance(aliases, str) else tuple(aliases)
    info: FieldInfo = Field(default=default, description=comment or None)
    # pydantic keeps metadata it does not know and ignores it when validating.
    info.metadata.append(EnvSpec(name, alias_names))
    return info


def env_prefix(prefix: str) -> Any:
    """Give the fields of a nested config model a prefix (``"DATABASE_"``).

    A nested model field without it gets ``FIELDNAME_``; ``env_prefix("")``
    puts the nested fields at the level of their parent. A missing trailing
    ``_`` is added. The controller always fills such a field; code that builds
    the model by hand must pass the nested model.
    """
    info: FieldInfo = Field()
    info.metadata.append(PrefixSpec(prefix))
    return info


def spec_of(field: FieldInfo, kind: type[_T]) -> _T | None:
    """The marker of type ``kind`` that ``env()``/``env_prefix()`` left on ``field``."""
    return next((m for m in field.metadata if isinstance(m, kind)), None)


def normalize(part: str) -> str:
    """Upper-case a name part and turn ``-`` into ``_`` (``my-svc`` -> ``MY_SVC``)."""
    return part.upper().replace("-", "_")
