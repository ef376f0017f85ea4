"""The Sentry plugin's options and config: the guide's variables and a few of ours."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, SecretStr

from lbtoolkit.config import NonNegativeDuration, PositiveDuration, SampleRate, env

__all__ = ["DEFAULT_PREFIX", "Config", "Options"]

DEFAULT_PREFIX = "sentry"


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is its prefix, so ``MYSERVICE_{NAME}_DSN``."""

    name: str = DEFAULT_PREFIX


class Config(BaseModel):
    """``DSN``, ``ENVIRONMENT`` and ``SAMPLE_RATE`` as in the guide, plus release and checks."""

    # The DSN carries the project's key: masked like a password.
    dsn: SecretStr = env("DSN", default=SecretStr(""), comment="Sentry DSN (empty: Sentry is off)")
    environment: str = env(
        "ENVIRONMENT", default="", comment="Environment name (empty: Sentry's default)"
    )
    sample_rate: SampleRate = env("SAMPLE_RATE", default=1.0, comment="Error sampling rate")
    release: str = env(
        "RELEASE",
        default="",
        comment="Release the errors belong to (empty: the service version, else Sentry's guess)",
    )
    check_connection: bool = env(
        "CHECK_CONNECTION",
        default=False,
        comment="Fail start and readiness while the DSN's host refuses connections "
        "(off: a Sentry outage never takes the service down)",
    )
    connect_timeout: PositiveDuration = env(
        "CONNECT_TIMEOUT", default="2s", comment="Timeout of the connection check"
    )
    shutdown_timeout: NonNegativeDuration = env(
        "SHUTDOWN_TIMEOUT", default="2s", comment="How long stop waits to send pending events"
    )
