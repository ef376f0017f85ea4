"""The RabbitMQ plugin's options, its config, and where the config points to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr
from yarl import URL

from lbtoolkit.config import (
    ConfigIssue,
    HostName,
    NonNegativeDuration,
    NonNegativeInt,
    PositiveDuration,
    RemotePort,
    SampleRate,
    env,
    format_duration,
)

__all__ = [
    "DEFAULT_PREFIX",
    "Config",
    "Options",
    "Target",
    "WireFormat",
    "delay_issue",
    "resolve_target",
]

DEFAULT_PREFIX = "rabbitmq"

_DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}


Backoff = Annotated[float, Field(ge=1, le=10)]


WireFormat = Literal["native", "lastbackend"]
"""How events look on the broker: this toolkit's own, or the Go toolkit's."""


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is its prefix, so ``MYSERVICE_{NAME}_HOST``."""

    name: str = DEFAULT_PREFIX


class Config(BaseModel):
    """The guide's variables (``DSN`` overrides the five connection fields) and ours."""

    dsn: SecretStr = env(
        "DSN",
        default=SecretStr(""),
        comment="RabbitMQ connection string (amqp://user:password@host:5672/vhost); "
        "overrides HOST, PORT, USERNAME, PASSWORD and VHOST",
    )
    host: HostName = env("HOST", default="localhost", comment="RabbitMQ host")
    port: RemotePort = env("PORT", default=5672, comment="RabbitMQ port")
    username: str = env("USERNAME", default="guest", comment="RabbitMQ username")
    password: SecretStr = env("PASSWORD", default=SecretStr("guest"), comment="RabbitMQ password")
    vhost: str = env("VHOST", default="/", comment="RabbitMQ virtual host")
    # The Go plugin reads PREFETCH_COUNT; its deployments keep working.
    prefetch: NonNegativeInt = env(
        "PREFETCH",
        default=1,
        comment="Prefetch count: unacknowledged messages one subscription holds (0: no limit)",
        aliases=("PREFETCH_COUNT",),
    )
    retry_limit: NonNegativeInt = env(
        "RETRY_LIMIT",
        default=3,
        comment="Times a message is delivered again after its handler failed, before it "
        "moves to the subscription's dead-letter queue",
    )
    retry_delay: NonNegativeDuration = env(
        "RETRY_DELAY",
        default="1s",
        comment="Delay before a failed message is delivered again, held by the broker "
        "(0s: at once)",
    )
    retry_max_delay: NonNegativeDuration = env(
        "RETRY_MAX_DELAY",
        default="1m",
        comment="Longest delay before a failed message comes again",
        aliases=("MAX_DELAY",),
    )
    backoff: Backoff = env(
        "BACKOFF", default=2.0, comment="Factor the retry delay grows by with each failure"
    )
    retry_jitter: SampleRate = env(
        "RETRY_JITTER",
        default=0.1,
        comment="Random share (0-1) a retry delay is lengthened by, so failures spread out",
    )
    wire_format: WireFormat = env(
        "WIRE_FORMAT",
        default="native",
        comment="Events on the broker: native (topic exchanges, raw payload) or lastbackend "
        "(the Go toolkit's fanout exchanges and JSON envelope, to share a broker with Go "
        "services)",
    )
    connect_timeout: PositiveDuration = env(
        "CONNECT_TIMEOUT", default="5s", comment="Timeout of the first connection at start"
    )
    reconnect_interval: PositiveDuration = env(
        "RECONNECT_INTERVAL", default="1s", comment="Pause between reconnection attempts"
    )
    publish_timeout: PositiveDuration = env(
        "PUBLISH_TIMEOUT",
        default="30s",
        comment="How long publish waits for the broker's confirmation, reconnections included",
    )
    drain_timeout: NonNegativeDuration = env(
        "DRAIN_TIMEOUT",
        default="10s",
        comment="How long stop waits for running handlers before closing the connection",
    )


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect. ``url`` holds the password: never log or show it."""

    url: URL | None
    host: str
    port: int
    vhost: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def delay_issue(config: Config, name_of: Callable[[str], str], owner: str) -> ConfigIssue | None:
    """The longest retry delay may not be shorter than the first."""
    if config.retry_max_delay >= config.retry_delay:
        return None
    longest, first = name_of("RETRY_MAX_DELAY"), name_of("RETRY_DELAY")
    return ConfigIssue(
        longest,
        f"{format_duration(config.retry_max_delay)} is shorter than {first} "
        f"({format_duration(config.retry_delay)})",
        owner,
        f"raise {longest} or lower {first}",
    )


def resolve_target(
    config: Config, dsn_variable: str, owner: str
) -> tuple[Target, ConfigIssue | None]:
    """The broker ``config`` names; a bad ``DSN`` comes back as an issue, never echoed."""
    dsn = config.dsn.get_secret_value()
    fields = Target(None, config.host, config.port, config.vhost)
    if not dsn:
        return fields, None
    try:
        url = URL(dsn)
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
    except ValueError:
        url, port = None, 0
    if url is None or url.scheme not in _DEFAULT_PORTS or not url.host or not port:
        issue = ConfigIssue(
            dsn_variable,
            "not an amqp:// or amqps:// URL with a host (value hidden)",
            owner,
            f"write {dsn_variable} as amqp://user:password@host:5672/vhost",
        )
        return fields, issue
    # An empty path is the default vhost "/", as RabbitMQ's URI spec says.
    vhost = url.path[1:] if len(url.path) > 1 else "/"
    return Target(url, url.host, port, vhost), None
