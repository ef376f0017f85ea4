"""The etcd registry plugin's options, its config, and the endpoints the config names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, Field, SecretStr

from lbtoolkit.config import ConfigIssue, Kind, PositiveDuration, check_host_name, env

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_PREFIX",
    "Config",
    "Endpoint",
    "Options",
    "find_issues",
    "is_wildcard",
    "parse_endpoints",
]

DEFAULT_PREFIX = "registry"
DEFAULT_KEY_PREFIX = "/lbtoolkit/services/"
DEFAULT_ETCD_PORT = 2379
# etcd grants whole seconds; below 2s a single slow keep-alive loses the lease.
_SHORTEST_TTL = dt.timedelta(seconds=2)
_LONGEST_TTL = dt.timedelta(hours=1)


def _check_key_prefix(value: str) -> str:
    if not value.startswith("/") or not value.endswith("/") or len(value) < 2:  # noqa: PLR2004
        msg = f"{value!r} must start and end with '/' (like /lbtoolkit/services/)"
        raise ValueError(msg)
    if any(c.isspace() for c in value):
        msg = f"{value!r} must not contain white space"
        raise ValueError(msg)
    return value


def _check_whole_seconds(value: dt.timedelta) -> dt.timedelta:
    if value.microseconds:
        msg = f"{value.total_seconds():g}s is not a whole number of seconds (etcd grants seconds)"
        raise ValueError(msg)
    return value


KeyPrefix = Annotated[
    str, AfterValidator(_check_key_prefix), Kind("key prefix", "starts and ends with /")
]
LeaseTtl = Annotated[
    dt.timedelta,
    Field(ge=_SHORTEST_TTL, le=_LONGEST_TTL),
    AfterValidator(_check_whole_seconds),
    Kind("duration"),
]


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is its prefix, so ``MYSERVICE_{NAME}_ENDPOINTS``."""

    name: str = DEFAULT_PREFIX


class Config(BaseModel):
    """One field per variable: ``{SERVICE}_{PREFIX}_ENDPOINTS``, ``_LEASE_TTL``, ..."""

    endpoints: str = env(
        "ENDPOINTS",
        default=f"127.0.0.1:{DEFAULT_ETCD_PORT}",
        comment="etcd client endpoints, comma-separated host:port (tried in order)",
    )
    dial_timeout: PositiveDuration = env(
        "DIAL_TIMEOUT",
        default="5s",
        comment="Timeout of each etcd request, and of reaching etcd at start",
    )
    lease_ttl: LeaseTtl = env(
        "LEASE_TTL",
        default="10s",
        comment="Lifetime of the registration lease (2s to 1h, whole seconds): a replica "
        "that dies disappears from the registry after at most this long",
    )
    key_prefix: KeyPrefix = env(
        "KEY_PREFIX",
        default=DEFAULT_KEY_PREFIX,
        comment="Key prefix of the registry; a service's servers live under PREFIX<service>/",
    )
    username: str = env("USERNAME", default="", comment="etcd user (empty: no authentication)")
    password: SecretStr = env("PASSWORD", default=SecretStr(""), comment="etcd password")
    readiness_critical: bool = env(
        "READINESS_CRITICAL",
        default=True,
        comment="Whether a registration that is not current (etcd unreachable) fails "
        "readiness; false reports it as degraded only",
    )
    advertise_host: str = env(
        "ADVERTISE_HOST",
        default="",
        comment="Host other services dial to reach this one (empty: each server's listen "
        "address, which must then not be a wildcard like 0.0.0.0)",
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One etcd client endpoint."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _parse_endpoint(text: str) -> Endpoint:
    text = text.strip()
    for scheme in ("http://", "https://"):
        text = text.removeprefix(scheme)
    text = text.rstrip("/")
    if text.startswith("["):  # [::1]:2379
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    problem = check_host_name(host) if host else "no host"
    if problem:
        msg = f"{text!r}: {problem}"
        raise ValueError(msg)
    if not port_text:
        return Endpoint(host, DEFAULT_ETCD_PORT)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:  # noqa: PLR2004
        msg = f"{text!r}: port {port_text!r} is not a number from 1 to 65535"
        raise ValueError(msg)
    return Endpoint(host, int(port_text))


def parse_endpoints(text: str) -> tuple[Endpoint, ...]:
    """``ENDPOINTS`` as endpoints; raises ``ValueError`` naming the bad one."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        msg = "no endpoint given"
        raise ValueError(msg)
    return tuple(_parse_endpoint(part) for part in parts)


def find_issues(config: Config, owner: str, variable: Callable[[str], str]) -> list[ConfigIssue]:
    """Problems that span a value's syntax or two variables, each naming its variable."""
    issues: list[ConfigIssue] = []
    try:
        parse_endpoints(config.endpoints)
    except ValueError as error:
        issues.append(
            ConfigIssue(
                variable("ENDPOINTS"),
                str(error),
                owner,
                "give host:port pairs separated by commas, like etcd-0:2379,etcd-1:2379",
            )
        )
    advertised = config.advertise_host.strip()
    if advertised:
        problem = check_host_name(advertised)
        if not problem and _is_wildcard(advertised):
            problem = "a wildcard address cannot be dialled"
        if problem:
            issues.append(
                ConfigIssue(
                    variable("ADVERTISE_HOST"),
                    f"{advertised!r}: {problem}",
                    owner,
                    "give the address other services reach this one at (the pod IP, a DNS name)",
                )
            )
    if bool(config.username) != bool(config.password.get_secret_value()):
        given, missing = ("USERNAME", "PASSWORD") if config.username else ("PASSWORD", "USERNAME")
        issues.append(
            ConfigIssue(
                variable(missing),
                f"required when {variable(given)} is set",
                owner,
                f"set both {variable('USERNAME')} and {variable('PASSWORD')}, or neither",
            )
        )
    return issues


_WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})  # noqa: S104 - recognised, not bound


def _is_wildcard(host: str) -> bool:
    return host.strip() in _WILDCARDS


def is_wildcard(host: str) -> bool:
    """Whether ``host`` means "every interface", which no client can dial."""
    return _is_wildcard(host)
