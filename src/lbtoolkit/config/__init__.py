"""Configuration from environment variables, declared as pydantic models.

Each field of a config model is one environment variable, named
``{SERVICE_PREFIX}_{PLUGIN_PREFIX}_{FIELD}``::

    class Options(BaseModel):
        host: str = env("HOST", default="localhost", comment="Database host")
        port: int = env("PORT", default=5432, comment="Database port")
        password: SecretStr = env("PASSWORD", comment="Database password")

    config = ConfigController("myservice")
    options = config.parse(Options, "pgsql")  # MYSERVICE_PGSQL_HOST, ...
    config.raise_for_issues()  # every bad or missing variable at once
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.config._constraints import (
    ByteSize,
    HostName,
    HttpPath,
    Kind,
    ListenAddress,
    MessageSize,
    NonNegativeDuration,
    NonNegativeInt,
    Port,
    PositiveDuration,
    PositiveInt,
    RemotePort,
    SampleRate,
    check_host_name,
)
from lbtoolkit.config._controller import ConfigController
from lbtoolkit.config._durations import format_duration, parse_duration
from lbtoolkit.config._errors import (
    ConfigError,
    ConfigIssue,
    ConfigModelError,
    UnreadVariablesError,
)
from lbtoolkit.config._fields import env, env_prefix
from lbtoolkit.config._layout import Variable
from lbtoolkit.config._secrets import MASK, mask_secrets
from lbtoolkit.config._unread import UnreadVariable

__all__ = [
    "MASK",
    "ByteSize",
    "ConfigController",
    "ConfigError",
    "ConfigIssue",
    "ConfigModelError",
    "HostName",
    "HttpPath",
    "Kind",
    "ListenAddress",
    "MessageSize",
    "NonNegativeDuration",
    "NonNegativeInt",
    "Port",
    "PositiveDuration",
    "PositiveInt",
    "RemotePort",
    "SampleRate",
    "UnreadVariable",
    "UnreadVariablesError",
    "Variable",
    "check_host_name",
    "env",
    "env_prefix",
    "format_duration",
    "mask_secrets",
    "parse_duration",
]

export(__name__, __all__)
