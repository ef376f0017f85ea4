"""postgres_pgx: the Go toolkit's pgx plugin name for :mod:`lbtoolkit.plugins.postgres_pg`.

Both Go plugins hand out a connection pool; in Python that is one asyncpg
pool plugin, re-exported here so ``{plugin: "postgres_pgx"}`` keeps working.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins.postgres_pg import (
    Config,
    Migration,
    Options,
    PgPlugin,
    Plugin,
    PostgresConnectError,
    PostgresMigrationError,
    PostgresStateError,
    new_plugin,
    new_test_plugin,
)

__all__ = [
    "Config",
    "Migration",
    "Options",
    "PgPlugin",
    "Plugin",
    "PostgresConnectError",
    "PostgresMigrationError",
    "PostgresStateError",
    "new_plugin",
    "new_test_plugin",
]

export(__name__, __all__)
