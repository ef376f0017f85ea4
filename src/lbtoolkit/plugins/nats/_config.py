"""The NATS plugin's options, its config, and the servers the config points to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, Field, SecretStr
from yarl import URL

from lbtoolkit.config import (
    ConfigIssue,
    Kind,
    NonNegativeDuration,
    PositiveDuration,
    SampleRate,
    check_host_name,
    env,
    format_duration,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEFAULT_PREFIX", "Config", "Options", "Servers", "find_issues", "resolve_servers"]

DEFAULT_PREFIX = "nats"
DEFAULT_PORT = 4222

_SCHEMES = frozenset({"nats", "tls", "ws", "wss"})
# JetStream refuses these in stream names: they would become subject tokens.
_NOT_IN_STREAM_NAMES = re.compile(r"[^A-Za-z0-9_-]")


def _check_stream(value: str) -> str:
    if _NOT_IN_STREAM_NAMES.search(value):
        msg = f"{value!r} is not a valid stream name (letters, digits, - and _ only)"
        raise ValueError(msg)
    return value


StreamName = Annotated[
    str, AfterValidator(_check_stream), Kind("stream name", "letters, digits, - and _")
]
ReconnectAttempts = Annotated[int, Field(ge=-1, le=1_000_000)]
Deliveries = Annotated[int, Field(ge=1, le=1000)]
Backoff = Annotated[float, Field(ge=1, le=10), Kind("factor")]
Prefetch = Annotated[int, Field(ge=1, le=10_000)]
# Kept messages are the stream's business, not a timeout's: a year, not MAX_DURATION's day.
Retention = Annotated[timedelta, Field(ge=timedelta(0), le=timedelta(days=366)), Kind("duration")]


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is its prefix, so ``MYSERVICE_{NAME}_ADDR``."""

    name: str = DEFAULT_PREFIX


class Config(BaseModel):
    """One field per variable: ``{SERVICE}_{PREFIX}_URL``, ``_ADDR``, ``_MAX_DELIVER``, ..."""

    url: SecretStr = env(
        "URL",
        default=SecretStr(""),
        comment="NATS server URLs, comma-separated (nats://user:password@host:4222); "
        "overrides ADDR",
    )
    addr: str = env(
        "ADDR", default="localhost:4222", comment="NATS servers, comma-separated host:port"
    )
    username: str = env("USERNAME", default="", comment="NATS user (empty: no login)")
    password: SecretStr = env("PASSWORD", default=SecretStr(""), comment="NATS password")
    token: SecretStr = env("TOKEN", default=SecretStr(""), comment="NATS token (instead of a user)")
    connect_timeout: PositiveDuration = env(
        "CONNECT_TIMEOUT", default="5s", comment="Timeout of the first connection at start"
    )
    reconnect_wait: PositiveDuration = env(
        "RECONNECT_WAIT", default="1s", comment="Pause between reconnection attempts"
    )
    max_reconnects: ReconnectAttempts = env(
        "MAX_RECONNECTS",
        default=-1,
        comment="Reconnection attempts per server before giving up (-1: never give up)",
    )
    publish_timeout: PositiveDuration = env(
        "PUBLISH_TIMEOUT",
        default="30s",
        comment="How long publish waits for JetStream's acknowledgement, reconnections included",
    )
    ack_wait: PositiveDuration = env(
        "ACK_WAIT",
        default="30s",
        comment="How long the server waits for a handler to finish before delivering its "
        "message again",
    )
    max_deliver: Deliveries = env(
        "MAX_DELIVER",
        default=4,
        comment="Deliveries of a message (first one included) before a failing one moves to "
        "the dead-letter stream",
    )
    retry_delay: NonNegativeDuration = env(
        "RETRY_DELAY", default="1s", comment="Delay before a failed message is delivered again"
    )
    max_delay: NonNegativeDuration = env(
        "MAX_DELAY",
        default="1m",
        comment="Longest delay before a failed message comes again",
        aliases=("RETRY_MAX_DELAY",),
    )
    backoff: Backoff = env(
        "BACKOFF", default=2.0, comment="Factor the retry delay grows by with each failure"
    )
    retry_jitter: SampleRate = env(
        "RETRY_JITTER",
        default=0.1,
        comment="Random share (0-1) a retry delay is lengthened by, so failures spread out",
    )
    prefetch: Prefetch = env(
        "PREFETCH",
        default=1,
        comment="Messages one subscription fetches and handles at once",
    )
    stream: StreamName = env(
        "STREAM",
        default="",
        comment="Stream of this service's events (empty: the service name)",
    )
    stream_max_age: Retention = env(
        "STREAM_MAX_AGE",
        default="168h",
        comment="How long the stream keeps an event, read or not (0: until deleted)",
    )
    drain_timeout: NonNegativeDuration = env(
        "DRAIN_TIMEOUT",
        default="10s",
        comment="How long stop waits for running handlers before closing the connection",
    )


@dataclass(frozen=True, slots=True)
class Servers:
    """Where to connect. ``urls`` may hold passwords: never log them, show ``str(self)``."""

    urls: tuple[str, ...]
    addresses: tuple[str, ...]

    def __str__(self) -> str:
        return ", ".join(self.addresses)

    @property
    def first(self) -> tuple[str, int]:
        """Host and port of the first server, for errors."""
        host, _, port = self.addresses[0].rpartition(":")
        return host.strip("[]"), int(port)


def resolve_servers(config: Config) -> Servers:
    """The servers ``URL`` names, else ``ADDR``'s; expects a config :func:`find_issues` passed."""
    text = config.url.get_secret_value()
    if text:
        urls = [URL(part) for part in _parts(text)]
        addresses = tuple(_address(u.host or "", u.port or DEFAULT_PORT) for u in urls)
        return Servers(tuple(str(u) for u in urls), addresses)
    pairs = [_split_addr(part) for part in _parts(config.addr)]
    addresses = tuple(_address(host, port) for host, port in pairs)
    return Servers(tuple(f"nats://{a}" for a in addresses), addresses)


def find_issues(config: Config, owner: str, name_of: Callable[[str], str]) -> list[ConfigIssue]:
    """What the start would trip over, each naming its variable; ``URL`` never echoed."""
    issues = []
    text = config.url.get_secret_value()
    if text:
        if not all(_valid_url(part) for part in _parts(text)) or not _parts(text):
            variable = name_of("URL")
            issues.append(
                ConfigIssue(
                    variable,
                    "not a comma-separated list of nats:// (or tls://, ws://, wss://) URLs "
                    "with a host (value hidden)",
                    owner,
                    f"write {variable} as nats://user:password@host:4222",
                )
            )
    else:
        problem = _addr_problem(config.addr)
        if problem:
            issues.append(
                ConfigIssue(name_of("ADDR"), problem, owner, "write it as host:port[,host:port]")
            )
    if config.max_delay < config.retry_delay:
        issues.append(
            ConfigIssue(
                name_of("MAX_DELAY"),
                f"{format_duration(config.max_delay)} is shorter than {name_of('RETRY_DELAY')} "
                f"({format_duration(config.retry_delay)})",
                owner,
                f"raise {name_of('MAX_DELAY')} or lower {name_of('RETRY_DELAY')}",
            )
        )
    if config.password.get_secret_value() and not config.username:
        issues.append(
            ConfigIssue(
                name_of("USERNAME"),
                f"empty while {name_of('PASSWORD')} is set",
                owner,
                f"set {name_of('USERNAME')}, or use {name_of('TOKEN')} for a token",
            )
        )
    return issues


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _valid_url(text: str) -> bool:
    try:
        url = URL(text)
        port = url.port
    except ValueError:
        return False
    return url.scheme in _SCHEMES and bool(url.host) and (port is None or 0 < port < 65536)  # noqa: PLR2004 - TCP ports


def _addr_problem(text: str) -> str:
    parts = _parts(text)
    if not parts:
        return "no address given (expected host:port)"
    for raw in parts:
        try:
            host, _ = _split_addr(raw)
        except ValueError:
            return f"{raw!r} has no valid port (expected host:port)"
        problem = check_host_name(host)
        if problem:
            return f"{raw!r}: {problem}"
    return ""


def _split_addr(raw: str) -> tuple[str, int]:
    """``host:port`` (``host`` alone: port 4222); ``ValueError`` for a bad port."""
    host, sep, port_text = raw.rpartition(":")
    if not sep or raw.endswith("]"):
        return raw.strip("[]"), DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:  # noqa: PLR2004 - TCP ports
        raise ValueError(raw)
    return host.strip("[]") or "localhost", int(port_text)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
