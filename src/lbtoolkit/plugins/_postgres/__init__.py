"""Shared parts of the PostgreSQL plugins: config, connections, errors, migrations."""

from __future__ import annotations

from lbtoolkit.plugins._postgres._base import (
    OUTAGE_ERRORS,
    CommonPlugin,
    PluginState,
    PostgresPlugin,
)
from lbtoolkit.plugins._postgres._config import DEFAULT_PREFIX, Options, PostgresConfig, SslMode
from lbtoolkit.plugins._postgres._connect import Connector, mask_dsn
from lbtoolkit.plugins._postgres._errors import (
    PostgresConnectError,
    PostgresMigrationError,
    PostgresStateError,
)
from lbtoolkit.plugins._postgres._migrations import (
    MIGRATIONS_TABLE,
    NO_TRANSACTION,
    Migration,
    apply_migrations,
    lock_key,
    read_migrations,
)

__all__ = [
    "DEFAULT_PREFIX",
    "MIGRATIONS_TABLE",
    "NO_TRANSACTION",
    "OUTAGE_ERRORS",
    "CommonPlugin",
    "Connector",
    "Migration",
    "Options",
    "PluginState",
    "PostgresConfig",
    "PostgresConnectError",
    "PostgresMigrationError",
    "PostgresPlugin",
    "PostgresStateError",
    "SslMode",
    "apply_migrations",
    "lock_key",
    "mask_dsn",
    "read_migrations",
]
