"""``info()``: a plugin's variables and the values in use, secrets masked."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr

from lbtoolkit.config import format_duration
from lbtoolkit.plugins._postgres._connect import MASK, mask_dsn

if TYPE_CHECKING:
    from lbtoolkit.config import ConfigController
    from lbtoolkit.plugins._postgres._config import PostgresConfig

__all__ = ["render_info"]


def render_info(controller: ConfigController, config: PostgresConfig, owner: str) -> str:
    """``owner`` on the first line, then ``NAME = value`` for every variable.

    A password shows as ``******`` when set; a DSN shows with its password
    masked, so the host and database stay readable.
    """
    variables = [v for v in controller.variables() if v.owner == owner]
    values = [_show(name, getattr(config, name)) for name in type(config).model_fields]
    # The controller lists a flat model's variables in field order.
    rows = list(zip((v.name for v in variables), values, strict=True))
    width = max(len(name) for name, _ in rows)
    lines = [owner, *(f"  {name.ljust(width)} = {value}" for name, value in rows)]
    return "\n".join(lines)


def _show(field: str, value: object) -> str:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if not secret:
            return ""
        return mask_dsn(secret) if field == "dsn" else MASK
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)
