"""The service's own settings, read like any config under the service prefix."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from lbtoolkit.config import (
    NonNegativeDuration,
    PositiveDuration,
    UnreadVariable,
    UnreadVariablesError,
    env,
)

if TYPE_CHECKING:
    from lbtoolkit.runtime._runtime import Runtime

__all__ = ["ServiceSettings", "check_environment", "unread_variables"]

log = logging.getLogger("lbtoolkit.config")

# Beyond the cores of any machine one process per core would fill.
MAX_WORKERS = 64


class ServiceSettings(BaseModel):
    """The service-level variables: ``{SERVICE_PREFIX}_LOG_LEVEL``, ``..._STRICT_ENV``, ...

    Every other variable under the service prefix belongs to a config, a
    plugin or a server; one that nothing reads is reported at start.
    """

    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        # `debug` and `DEBUG` alike, as logging's own level names are written both ways.
        BeforeValidator(lambda text: text.upper() if isinstance(text, str) else text),
    ] = env("LOG_LEVEL", default="INFO", comment="Log level")
    log_format: Literal["text", "json"] = env(
        "LOG_FORMAT", default="text", comment="Log output format"
    )
    shutdown_timeout: PositiveDuration = env(
        "SHUTDOWN_TIMEOUT",
        default="30s",
        comment="Time given to drain requests and run stop hooks before they are abandoned",
    )
    drain_delay: NonNegativeDuration = env(
        "DRAIN_DELAY",
        default="0s",
        comment="Time servers keep serving after readiness turns false at stop, so load "
        "balancers notice first (counted in SHUTDOWN_TIMEOUT)",
    )
    start_timeout: PositiveDuration = env(
        "START_TIMEOUT",
        default="60s",
        comment="Time the whole start may take (constructors, hooks, servers) before it is "
        "cancelled and what started is stopped again",
    )
    validation_enabled: bool = env(
        "VALIDATION_ENABLED",
        default=True,
        comment="Check each request against its message's validation rules (buf.validate) "
        "before the handler runs, on every transport",
    )
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = env(
        "WORKERS",
        default=1,
        comment="Worker processes serving the same ports (1: the service runs alone, "
        "without a supervisor)",
    )
    strict_env: bool = env(
        "STRICT_ENV",
        default=False,
        comment="Fail the start when a variable under the service prefix is not read by anything "
        "(false: log a warning)",
    )


def unread_variables(runtime: Runtime) -> list[UnreadVariable]:
    """Variables under the service prefix that neither a config nor a client target reads."""
    # The names lbtoolkit.client.target_variable() gives: {PREFIX}_CLIENT_{SERVICE}_TARGET.
    client_target = re.compile(rf"{re.escape(runtime.meta.env_prefix.upper())}_CLIENT_.+_TARGET")
    return runtime.config.unread_variables(lambda name: client_target.fullmatch(name) is not None)


def check_environment(runtime: Runtime) -> None:
    """Log a warning per unread variable; with ``STRICT_ENV`` raise them all instead.

    In strict mode the error also lists every other configuration problem, so
    that a misspelt name and the "required variable not set" it causes come
    together.
    """
    unread = unread_variables(runtime)
    if unread and runtime.settings.strict_env:
        switch = runtime.config.variable_name("STRICT_ENV")
        raise UnreadVariablesError(unread, switch, runtime.config.issues)
    for variable in unread:
        log.warning("%s", variable)
