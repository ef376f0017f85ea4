"""``info()``: a plugin's variables with their current values, secrets masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

# The help table's own formatting, so info() and --help write values alike
# (durations as "10s", booleans as "true", secrets as "******").
from lbtoolkit.config._convert import display

if TYPE_CHECKING:
    from pydantic import BaseModel

    from lbtoolkit.runtime import Runtime

__all__ = ["MASK", "render_info"]

MASK = "******"


def render_info(runtime: Runtime, owner: str, config: BaseModel) -> str:
    """``owner`` and one ``NAME = value`` line per variable it parsed.

    The names come from the config controller (prefixes applied) and are in
    field order, as the values are; an unset secret shows as empty, a set one
    as ``******``.
    """
    names = [v.name for v in runtime.config.variables() if v.owner == owner]
    values = [getattr(config, field) for field in type(config).model_fields]
    width = max((len(name) for name in names), default=0)
    lines = [owner]
    for name, value in zip(names, values, strict=True):
        lines.append(f"  {name:<{width}} = {display(value)}".rstrip())
    return "\n".join(lines) + "\n"
