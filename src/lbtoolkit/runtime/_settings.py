"""The service's own settings, read like any config under the service prefix."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel

from lbtoolkit.config import env

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseModel):
    """``{SERVICE_PREFIX}_LOG_LEVEL``, ``..._LOG_FORMAT``, ``..._SHUTDOWN_TIMEOUT``."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = env(
        "LOG_LEVEL", default="INFO", comment="Log level: DEBUG, INFO, WARNING, ERROR"
    )
    log_format: Literal["text", "json"] = env(
        "LOG_FORMAT", default="text", comment="Log output: text or json"
    )
    shutdown_timeout: timedelta = env(
        "SHUTDOWN_TIMEOUT",
        default=timedelta(seconds=30),
        comment="Time given to drain requests and run stop hooks before they are abandoned",
    )
