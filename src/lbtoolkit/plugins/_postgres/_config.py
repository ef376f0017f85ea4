"""The variables every PostgreSQL plugin reads, with the guide's names and defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal, get_args
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from lbtoolkit.config import (
    NonNegativeDuration,
    NonNegativeInt,
    PositiveDuration,
    PositiveInt,
    RemotePort,
    check_host_name,
    env,
)

__all__ = ["DEFAULT_PREFIX", "Options", "PostgresConfig", "SslMode"]

# The Go plugins fall back to this prefix when Options.name is empty.
DEFAULT_PREFIX = "psql"

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
# asyncpg sets up a slot per connection of the pool before it connects.
_PoolSize = Annotated[int, Field(ge=1, le=10_000)]


@dataclass(frozen=True, slots=True)
class Options:
    """How a service declares the plugin: ``name`` is its prefix (``pgsql``).

    The prefix names the variables (``{SERVICE}_{NAME}_HOST``), the readiness
    check and the plugin in errors. An empty name means ``psql``, as in Go.
    """

    name: str = DEFAULT_PREFIX

    @property
    def prefix(self) -> str:
        """The prefix in use: ``name``, or ``psql`` when it is empty."""
        return self.name or DEFAULT_PREFIX


class PostgresConfig(BaseModel):
    """Connection, pool and migration settings shared by the PostgreSQL plugins.

    ``DSN`` overrides the connection fields (host, port, username, password,
    database, SSL mode) when set. Names used by the Go toolkit's plugins for the
    same settings (``SSLMODE``, ``MAX_POOL_SIZE``, ...) are read too.
    """

    dsn: SecretStr | None = env(
        "DSN",
        default=None,
        comment="Connection string postgres://user:password@host:port/database?sslmode=...; "
        "overrides the connection fields",
    )
    host: str = env(
        "HOST",
        default="localhost",
        comment="PostgreSQL server host, or the directory of its Unix socket",
    )
    port: RemotePort = env("PORT", default=5432, comment="PostgreSQL server port")
    username: str = env("USERNAME", default="", comment="Database username")
    password: SecretStr = env("PASSWORD", default=SecretStr(""), comment="Database password")
    database: str = env("DATABASE", default="", comment="Database name")
    ssl_mode: SslMode = env(
        "SSL_MODE",
        default="disable",
        comment="SSL mode",
        aliases=("SSLMODE",),
    )
    timezone: str = env("TIMEZONE", default="UTC", comment="Session time zone")
    migrations_dir: str = env(
        "MIGRATIONS_DIR",
        default="",
        comment="Directory of the .sql migrations run_migration() applies",
    )
    debug: bool = env("DEBUG", default=False, comment="Log every SQL statement")
    max_connections: _PoolSize = env(
        "MAX_CONNECTIONS",
        default=10,
        comment="Most connections open at once",
        aliases=("MAX_POOL_SIZE",),
    )
    max_idle_connections: NonNegativeInt = env(
        "MAX_IDLE_CONNECTIONS",
        default=5,
        comment="Connections kept open while idle",
        aliases=("MIN_POOL_SIZE",),
    )
    conn_max_lifetime: NonNegativeDuration = env(
        "CONN_MAX_LIFETIME",
        default=timedelta(hours=1),
        comment="A connection older than this is replaced (0: never)",
        aliases=("MAX_CONN_LIFETIME",),
    )
    conn_max_idle_time: NonNegativeDuration = env(
        "CONN_MAX_IDLE_TIME",
        default=timedelta(minutes=30),
        comment="A connection idle for longer than this is closed (0: never)",
        aliases=("MAX_CONN_IDLE_TIME",),
    )
    conn_attempts: PositiveInt = env(
        "CONN_ATTEMPTS",
        default=3,
        comment="Connection attempts at start, with backoff between them",
    )
    conn_timeout: PositiveDuration = env(
        "CONN_TIMEOUT", default=timedelta(seconds=5), comment="Timeout of one connection attempt"
    )
    application_name: str = env(
        "APPLICATION_NAME",
        default="",
        comment="application_name shown in pg_stat_activity (default: the service name)",
    )

    @field_validator("host")
    @classmethod
    def _host_or_socket_directory(cls, value: str) -> str:
        problem = "" if value.startswith("/") else check_host_name(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("dsn")
    @classmethod
    def _dsn_is_a_url(cls, value: SecretStr | None) -> SecretStr | None:
        # The messages must not echo the value: it may hold a password.
        if value is None:
            return value
        text = value.get_secret_value()
        if not text.startswith(("postgres://", "postgresql://")):
            msg = "must be a URL starting with postgres:// or postgresql://"
            raise ValueError(msg)
        try:
            parts = urlsplit(text)
            _ = parts.port  # raises for a bad IPv6 host or port
        except ValueError:
            msg = "must be a URL whose host and port can be read"
            raise ValueError(msg) from None
        modes = parse_qs(parts.query).get("sslmode", [])
        if any(mode not in get_args(SslMode) for mode in modes):
            msg = f"sslmode must be one of {', '.join(get_args(SslMode))}"
            raise ValueError(msg)
        return value

    @property
    def idle_connections(self) -> int:
        """``MAX_IDLE_CONNECTIONS`` capped by ``MAX_CONNECTIONS``, as Go's database/sql does."""
        return min(self.max_idle_connections, self.max_connections)
