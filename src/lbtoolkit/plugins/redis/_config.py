"""The redis plugin's environment variables and the checks that span several of them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, SecretStr

from lbtoolkit.config import NonNegativeInt, PositiveInt, RemotePort, check_host_name, env

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Address",
    "Config",
    "Problem",
    "Target",
    "find_problems",
    "parse_addresses",
    "resolve_target",
    "seconds",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6379
# Sockets keep timeouts in C integers; a day is beyond any sensible one.
_Seconds = Annotated[int, Field(le=86_400)]


class Config(BaseModel):
    """The guide's variables, read as ``{SERVICE}_{PREFIX}_{NAME}``.

    ``ENDPOINT`` and ``CLUSTER`` are the names the Go toolkit's plugin reads;
    they are accepted as aliases of ``ADDR`` and ``CLUSTER_MODE``. ``HOST``
    and ``PORT`` are the guide's other spelling of the address: see
    :func:`resolve_target` for which one is used.
    """

    addr: str = env(
        "ADDR",
        default=f"{DEFAULT_HOST}:{DEFAULT_PORT}",
        comment="Redis server address (host:port; comma-separated seed nodes in cluster mode)",
        aliases=("ENDPOINT",),
    )
    host: str = env(
        "HOST", default="", comment=f"Redis server host, instead of ADDR (default {DEFAULT_HOST})"
    )
    port: RemotePort | None = env(
        "PORT", default=None, comment=f"Redis server port, instead of ADDR (default {DEFAULT_PORT})"
    )
    username: str = env("USERNAME", default="", comment="Redis username")
    password: SecretStr = env("PASSWORD", default=SecretStr(""), comment="Redis password")
    database: NonNegativeInt = env("DATABASE", default=0, comment="Redis database number")
    # Integer seconds, as in the guide; 0 or less means no timeout (go-redis reads -1 so).
    dial_timeout: _Seconds = env("DIAL_TIMEOUT", default=5, comment="Connection timeout in seconds")
    read_timeout: _Seconds = env("READ_TIMEOUT", default=3, comment="Read timeout in seconds")
    write_timeout: _Seconds = env("WRITE_TIMEOUT", default=3, comment="Write timeout in seconds")
    pool_size: PositiveInt = env("POOL_SIZE", default=10, comment="Connection pool size")
    cluster_mode: bool = env(
        "CLUSTER_MODE", default=False, comment="Enable cluster mode", aliases=("CLUSTER",)
    )
    required: bool = env(
        "REQUIRED",
        default=True,
        comment="Whether an outage makes the service not ready (false: readiness shows it as "
        "degraded and stays ready, for a cache the service can do without)",
    )


@dataclass(frozen=True, slots=True)
class Address:
    """One ``host:port`` taken from ``ADDR``."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where the plugin connects, and the short names of the variables that said so."""

    addresses: tuple[Address, ...]
    variables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A value that parses on its own but cannot be used: ``field`` is the variable's short name."""

    field: str
    message: str
    hint: str = ""


def parse_addresses(text: str) -> list[Address]:
    """Split ``ADDR`` into addresses; raise ``ValueError`` naming the bad part.

    ``host`` alone means port 6379 and ``:port`` means localhost, as go-redis reads them.
    """
    addresses = []
    for raw in text.replace(" ", "").split(","):
        if not raw:
            continue
        host, sep, port_text = raw.rpartition(":")
        if not sep or raw.endswith("]"):  # no port, or a bare bracketed IPv6 address
            host, port_text = raw, str(DEFAULT_PORT)
        host = host.removeprefix("[").removesuffix("]") or "localhost"
        problem = check_host_name(host)
        if problem:
            raise ValueError(f"{raw!r}: {problem}")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:  # noqa: PLR2004 - TCP ports
            raise ValueError(f"{raw!r} has no valid port (expected host:port)")
        addresses.append(Address(host, int(port_text)))
    if not addresses:
        raise ValueError("no address given (expected host:port)")
    return addresses


def resolve_target(config: Config) -> Target:
    """``HOST`` and ``PORT`` when either is set and ``ADDR`` is not; else ``ADDR``.

    An unset ``HOST`` means 127.0.0.1 and an unset ``PORT`` 6379. ``ADDR`` set
    too is fine when it names the same single server; otherwise
    :func:`find_problems` reports the conflict, and this function, which
    expects a config without problems, raises ``ValueError`` for a bad ``ADDR``.
    """
    if _host_port_given(config) and not _addr_given(config):
        address = Address(_bare(config.host) or DEFAULT_HOST, config.port or DEFAULT_PORT)
        return Target((address,), ("HOST", "PORT"))
    return Target(tuple(parse_addresses(config.addr)), ("ADDR",))


def find_problems(config: Config, name_of: Callable[[str], str]) -> list[Problem]:
    """What the start would trip over; reported with the other config issues.

    ``name_of`` gives a variable's full name for hints (``CLUSTER_MODE`` ->
    ``MYSERVICE_CACHE_CLUSTER_MODE``).
    """
    problems = _address_problems(config, name_of)
    addresses = () if problems else resolve_target(config).addresses
    if len(addresses) > 1 and not config.cluster_mode:
        problems.append(
            Problem(
                "ADDR",
                f"lists {len(addresses)} addresses but cluster mode is off",
                f"give one address, or set {name_of('CLUSTER_MODE')}=true for a Redis Cluster",
            )
        )
    if config.cluster_mode and config.database != 0:
        problems.append(
            Problem("DATABASE", "must be 0 in cluster mode (Redis Cluster has database 0 only)")
        )
    return problems


def _address_problems(config: Config, name_of: Callable[[str], str]) -> list[Problem]:
    problems: list[Problem] = []
    try:
        addresses = parse_addresses(config.addr)
    except ValueError as error:
        problems.append(Problem("ADDR", str(error)))
        addresses = []
    host = _bare(config.host)
    if "," in host or (":" in host and not _is_ip_address(host)):
        problems.append(
            Problem(
                "HOST",
                f"{config.host!r} is not a host name or IP address",
                f"put the port in {name_of('PORT')}, or the whole address in {name_of('ADDR')}",
            )
        )
    elif host and check_host_name(host):
        problems.append(Problem("HOST", check_host_name(host)))
    if problems or not (_addr_given(config) and _host_port_given(config)):
        return problems
    # Both spellings given: fine when they agree, a conflict reported by name otherwise.
    single = addresses[0] if len(addresses) == 1 else None
    differing = []
    if host and (single is None or single.host.lower() != host.lower()):
        differing.append("HOST")
    if config.port is not None and (single is None or single.port != config.port):
        differing.append("PORT")
    if differing:
        names = " and ".join(name_of(name) for name in differing)
        problems.append(
            Problem(
                "ADDR",
                f"names another server than {names}",
                f"set either {name_of('ADDR')} or {name_of('HOST')} and {name_of('PORT')}, "
                "not both",
            )
        )
    return problems


def _addr_given(config: Config) -> bool:
    # The controller leaves a field out of model_fields_set unless its variable is set.
    return "addr" in config.model_fields_set


def _host_port_given(config: Config) -> bool:
    return bool(config.host.strip()) or config.port is not None


def _bare(host: str) -> str:
    return host.strip().removeprefix("[").removesuffix("]")


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def seconds(value: int) -> float | None:
    """A timeout variable as redis-py takes it: ``None`` for none."""
    return float(value) if value > 0 else None
