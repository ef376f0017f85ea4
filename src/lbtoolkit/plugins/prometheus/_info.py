"""``info()``: a plugin's variables and current values, secrets masked."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import SecretBytes, SecretStr

if TYPE_CHECKING:
    from pydantic import BaseModel

    from lbtoolkit.runtime import Runtime

__all__ = ["MASK", "render_config"]

MASK = "******"


def render_config(runtime: Runtime, owner: str, config: BaseModel) -> str:
    """One line per variable, in field order: ``NAME = value``."""
    # The controller lists the variables of each parsed model in field order.
    variables = [v for v in runtime.config.variables() if v.owner == owner]
    values = [getattr(config, name) for name in type(config).model_fields]
    width = max((len(v.name) for v in variables), default=0)
    lines = [f"{owner}:"]
    lines += [
        f"  {v.name:<{width}} = {_show(value)}" for v, value in zip(variables, values, strict=True)
    ]
    return "\n".join(lines)


def _show(value: object) -> str:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as the variables are written
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    return str(value)
