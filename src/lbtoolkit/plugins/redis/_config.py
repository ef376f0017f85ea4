"""The redis plugin's environment variables and the checks that span several of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, SecretStr

from lbtoolkit.config import env

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DEFAULT_PORT",
    "Address",
    "Config",
    "Problem",
    "find_problems",
    "parse_addresses",
    "seconds",
]

DEFAULT_PORT = 6379


class Config(BaseModel):
    """The guide's variables, read as ``{SERVICE}_{PREFIX}_{NAME}``.

    ``ENDPOINT`` and ``CLUSTER`` are the names the Go toolkit's plugin reads;
    they are accepted as aliases of ``ADDR`` and ``CLUSTER_MODE``.
    """

    addr: str = env(
        "ADDR",
        default="127.0.0.1:6379",
        comment="Redis server address (host:port; comma-separated seed nodes in cluster mode)",
        aliases=("ENDPOINT",),
    )
    username: str = env("USERNAME", default="", comment="Redis username")
    password: SecretStr = env("PASSWORD", default=SecretStr(""), comment="Redis password")
    database: int = env("DATABASE", default=0, comment="Redis database number")
    # Integer seconds, as in the guide; 0 or less means no timeout (go-redis reads -1 so).
    dial_timeout: int = env("DIAL_TIMEOUT", default=5, comment="Connection timeout in seconds")
    read_timeout: int = env("READ_TIMEOUT", default=3, comment="Read timeout in seconds")
    write_timeout: int = env("WRITE_TIMEOUT", default=3, comment="Write timeout in seconds")
    pool_size: int = env("POOL_SIZE", default=10, comment="Connection pool size")
    cluster_mode: bool = env(
        "CLUSTER_MODE", default=False, comment="Enable cluster mode", aliases=("CLUSTER",)
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
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:  # noqa: PLR2004 - TCP ports
            raise ValueError(f"{raw!r} has no valid port (expected host:port)")
        addresses.append(Address(host, int(port_text)))
    if not addresses:
        raise ValueError("no address given (expected host:port)")
    return addresses


def find_problems(config: Config, name_of: Callable[[str], str]) -> list[Problem]:
    """What the start would trip over; reported with the other config issues.

    ``name_of`` gives a variable's full name for hints (``CLUSTER_MODE`` ->
    ``MYSERVICE_CACHE_CLUSTER_MODE``).
    """
    problems: list[Problem] = []
    try:
        addresses = parse_addresses(config.addr)
    except ValueError as error:
        problems.append(Problem("ADDR", str(error)))
        addresses = []
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
    if config.database < 0:
        problems.append(Problem("DATABASE", "must not be negative"))
    if config.pool_size < 1:
        problems.append(Problem("POOL_SIZE", "must be at least 1"))
    return problems


def seconds(value: int) -> float | None:
    """A timeout variable as redis-py takes it: ``None`` for none."""
    return float(value) if value > 0 else None
