"""The mailer's options (which instance) and config (its environment variables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr

from lbtoolkit.config import env

__all__ = ["Config", "Options"]


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is its prefix, so ``MYSERVICE_{NAME}_HOST``."""

    name: str = "mailer"


class Config(BaseModel):
    """One field per variable: ``{SERVICE}_{PREFIX}_HOST``, ``_PORT``, ..."""

    host: str = env("HOST", default="localhost", comment="SMTP server host")
    port: Annotated[int, Field(ge=1, le=65535)] = env(
        "PORT", default=25, comment="SMTP server port"
    )
    username: str = env("USERNAME", default="", comment="SMTP login (empty: no login)")
    # SecretStr: help, info() and errors print it as ******.
    password: SecretStr = env("PASSWORD", default=SecretStr(""), comment="SMTP password")
    timeout: timedelta = env(
        "TIMEOUT", default="10s", comment="Timeout of connecting and of each SMTP command"
    )
    # No default: the variable is required, and a service without it does not start.
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = env(
        "FROM", comment="Sender address of every mail (From header and envelope)"
    )
