"""postgres_gorm: PostgreSQL through SQLAlchemy 2's async ORM on asyncpg.

The Go toolkit's GORM plugin in Python: ``db()`` is the ``AsyncEngine``,
``session()`` an ``AsyncSession``, ``provide_session`` injects one per request,
``run_migration()`` applies golang-migrate style ``.sql`` files once across
replicas. Declared in a .proto file as ``{plugin: "postgres_gorm", prefix: "pgsql"}``.
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
from lbtoolkit.plugins.postgres_gorm._plugin import (
    Config,
    GormPlugin,
    Plugin,
    new_plugin,
    new_test_plugin,
)
from lbtoolkit.plugins.postgres_gorm._session import provide_session

__all__ = [
    "Config",
    "GormPlugin",
    "Migration",
    "Options",
    "Plugin",
    "PostgresConnectError",
    "PostgresMigrationError",
    "PostgresStateError",
    "new_plugin",
    "new_test_plugin",
    "provide_session",
]

export(__name__, __all__)
