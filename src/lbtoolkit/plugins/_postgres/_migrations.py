"""SQL migrations in golang-migrate's format, applied once across replicas.

The Go toolkit's plugins run golang-migrate, so this reads the same folder
layout (``0001_create_users.up.sql``; ``.down.sql`` files are skipped) and
keeps the same ``schema_migrations (version bigint, dirty boolean)`` table and
advisory lock key. A database migrated by a Go service carries on here, and
Go and Python replicas starting together still take turns.

Each file runs in one transaction together with its version bump, so a
failing file leaves no trace. A file whose first line is
``-- lbtoolkit:no-transaction`` (for ``CREATE INDEX CONCURRENTLY`` and the
like) runs outside a transaction and is marked dirty while it runs, as
golang-migrate marks every file.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lbtoolkit.plugins._postgres._errors import PostgresMigrationError
from lbtoolkit.plugins._support import describe

__all__ = [
    "MIGRATIONS_TABLE",
    "NO_TRANSACTION",
    "Migration",
    "apply_migrations",
    "lock_key",
    "read_migrations",
]

MIGRATIONS_TABLE = "schema_migrations"
NO_TRANSACTION = "-- lbtoolkit:no-transaction"
# golang-migrate's salt, so both tools contend for the same lock.
_LOCK_SALT = 1486364155
_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS {table} "
    "(version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
)
_READ_VERSION = "SELECT version, dirty FROM {table} LIMIT 1"
_CLEAR_VERSION = "TRUNCATE {table}"
_WRITE_VERSION = "INSERT INTO {table} (version, dirty) VALUES ($1, $2)"
# A table name is put into SQL text: only plain lower-case identifiers are accepted.
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_NAME = re.compile(r"^(?P<version>\d+)_(?P<title>.+?)(?:\.(?P<direction>up|down))?\.sql$")

log = logging.getLogger("lbtoolkit.plugins.postgres")


@dataclass(frozen=True, slots=True)
class Migration:
    """One ``.sql`` file: its version (the leading number), title and path."""

    version: int
    title: str
    path: Path

    def sql(self) -> str:
        """The file's text."""
        return self.path.read_text(encoding="utf-8")


def read_migrations(directory: Path, *, owner: str) -> list[Migration]:
    """The up migrations in ``directory``, ordered by version.

    Raises :class:`PostgresMigrationError` for a missing folder, a ``.sql``
    file without a leading version, or two files with one version.
    """
    if not directory.is_dir():
        raise PostgresMigrationError(owner, directory, "is not a directory")
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            hint = "name migrations VERSION_TITLE.up.sql, e.g. 0001_create_users.up.sql"
            raise PostgresMigrationError(owner, path, "has no leading version number", hint=hint)
        if match["direction"] == "down":
            continue  # applying is forward only; down files stay for manual use
        migration = Migration(int(match["version"]), match["title"], path)
        other = found.get(migration.version)
        if other is not None:
            problem = f"has the same version {migration.version} as {other.path.name}"
            raise PostgresMigrationError(
                owner, path, problem, hint="give every migration its own version"
            )
        found[migration.version] = migration
    return [found[v] for v in sorted(found)]


def lock_key(database: str, schema: str, table: str = MIGRATIONS_TABLE) -> int:
    """golang-migrate's advisory lock id for ``table`` in ``database``.``schema``."""
    name = f"{schema}\x00{table}\x00{database}".encode()
    return (zlib.crc32(name) * _LOCK_SALT) & 0xFFFFFFFF


async def apply_migrations(
    conn: Any,
    directory: Path,
    *,
    owner: str,
    secrets: tuple[str, ...] = (),
    table: str = MIGRATIONS_TABLE,
) -> list[Migration]:
    """Apply the pending migrations of ``directory`` on asyncpg connection ``conn``.

    Holds a session advisory lock meanwhile, so replicas starting together
    apply each file once: the others wait, then find nothing left to do.
    ``table`` keeps the version; a component with migrations of its own (the
    outbox) uses a table of its own, since golang-migrate keeps one version
    sequence per table, and its own lock, as golang-migrate derives the lock
    from the table name. Returns the migrations this call applied.
    """
    if not _TABLE_NAME.match(table):
        msg = f"migrations table name {table!r} is not a plain lower-case SQL identifier"
        raise ValueError(msg)
    migrations = read_migrations(directory, owner=owner)
    database, schema = await conn.fetchrow("SELECT current_database(), current_schema()")
    key = lock_key(database, schema, table)
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
        log.info("%s: another instance is migrating %s; waiting for it", owner, database)
        await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        current = await _current_version(conn, owner, table)
        pending = [m for m in migrations if m.version > current]
        for migration in pending:
            await _apply(conn, migration, owner=owner, secrets=secrets, table=table)
            log.info("%s: applied migration %s", owner, migration.path.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
    if not pending:
        log.info("%s: database %s is up to date (version %d)", owner, database, current)
    return pending


async def _current_version(conn: Any, owner: str, table: str) -> int:
    await conn.execute(_CREATE_TABLE.format(table=table))
    row = await conn.fetchrow(_READ_VERSION.format(table=table))
    if row is None:
        return -1  # golang-migrate's "no version yet"
    if row["dirty"]:
        problem = f"the database is dirty at version {row['version']}: a migration stopped halfway"
        clear = f"UPDATE {table} SET dirty = false"  # noqa: S608 - advice, never executed
        hint = f"repair the schema by hand, then clear the flag: {clear}"
        raise PostgresMigrationError(owner, None, problem, hint=hint)
    return int(row["version"])


async def _apply(
    conn: Any, migration: Migration, *, owner: str, secrets: tuple[str, ...], table: str
) -> None:
    sql = migration.sql()
    try:
        if sql.lstrip().startswith(NO_TRANSACTION):
            await _set_version(conn, table, migration.version, dirty=True)
            await conn.execute(sql)
            await _set_version(conn, table, migration.version, dirty=False)
            return
        async with conn.transaction():
            await conn.execute(sql)
            await _set_version(conn, table, migration.version, dirty=False)
    except Exception as error:
        raise PostgresMigrationError(owner, migration.path, describe(error, secrets)) from error


async def _set_version(conn: Any, table: str, version: int, *, dirty: bool) -> None:
    # One row, as golang-migrate keeps it: the latest version applied.
    async with conn.transaction():
        await conn.execute(_CLEAR_VERSION.format(table=table))
        await conn.execute(_WRITE_VERSION.format(table=table), version, dirty)
