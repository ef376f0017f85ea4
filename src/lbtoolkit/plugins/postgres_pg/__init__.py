"""postgres_pg: PostgreSQL through an asyncpg connection pool.

Registered under the names ``postgres_pg``, ``postgres_pgx`` and ``postgres``:
the Go toolkit's go-pg and pgx plugins both become this one. ``db()`` is the
``asyncpg.Pool``; ``run_migration()`` applies golang-migrate style ``.sql``
files once across replicas. Declared in a .proto file as
``{plugin: "postgres_pg", prefix: "pgsql"}``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins._postgres import (
    Migration,
    Options,
    PostgresConnectError,
    PostgresMigrationError,
    PostgresStateError,
)
from lbtoolkit.plugins.postgres_pg._plugin import (
    Config,
    PgPlugin,
    Plugin,
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
