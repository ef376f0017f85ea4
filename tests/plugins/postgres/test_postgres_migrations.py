"""run_migration() against the real server: order, once across replicas, failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest

import lbtoolkit
from lbtoolkit.plugins import postgres_gorm, postgres_pg
from lbtoolkit.plugins._postgres import Migration, PostgresMigrationError, lock_key
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

# The fixtures' types (conftest.py cannot be imported: test folders are no packages).
Environ = Callable[..., dict[str, str]]
MakeDatabase = Callable[[], Awaitable[str]]

PLUGINS = [postgres_gorm, postgres_pg]
# The table exactly as golang-migrate's postgres driver creates it.
GO_TABLE = (
    "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
)
IDS = ["postgres_gorm", "postgres_pg"]


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


STANDARD = {
    "0001_create_items.up.sql": "CREATE TABLE items (id serial PRIMARY KEY, name text);",
    "0001_create_items.down.sql": "DROP TABLE items;",
    "0002_seed.up.sql": (
        "INSERT INTO items (name) VALUES ('first'); INSERT INTO runs DEFAULT VALUES;"
    ),
    "0000_runs.sql": "CREATE TABLE runs (at timestamptz DEFAULT now());",
}


async def query(database: str, sql: str) -> list[asyncpg.Record]:
    """Run ``sql`` in ``database``; several statements are allowed when none returns rows."""
    conn = await asyncpg.connect(host="127.0.0.1", user="postgres", database=database)
    try:
        if sql.lstrip().upper().startswith("SELECT"):
            return list(await conn.fetch(sql))
        await conn.execute(sql)
        return []
    finally:
        await conn.close()


def replica(module: ModuleType, env: dict[str, str], results: list[list[int]]) -> lbtoolkit.Service:
    """A service as generated code builds it, migrating at start as a user would."""
    app = lbtoolkit.new_service("svc", env_prefix="SVC", environ=env, argv=[])
    plugin = module.new_plugin(app.runtime, module.Options(name="pgsql"))
    app.runtime.plugin.provide(lambda: plugin, provides=module.Plugin, name="pgsql")

    async def migrate(db: object) -> None:
        results.append([m.version for m in await plugin.run_migration()])
        assert db is plugin

    migrate.__annotations__["db"] = module.Plugin  # the key generated code registers
    app.invoke(migrate)
    return app


@pytest.mark.parametrize("module", PLUGINS, ids=IDS)
async def test_applies_in_order_and_records_the_version(
    module: ModuleType, make_database: MakeDatabase, environ_for: Environ, tmp_path: Path
) -> None:
    database = await make_database()
    folder = write(tmp_path / "migrations", STANDARD)
    env = environ_for("TEST", DATABASE=database, MIGRATIONS_DIR=str(folder))
    async with open_plugin(module.new_test_plugin(environ=env)) as plugin:
        applied: list[Migration] = await plugin.run_migration()
        assert [(m.version, m.path.name) for m in applied] == [
            (0, "0000_runs.sql"),
            (1, "0001_create_items.up.sql"),
            (2, "0002_seed.up.sql"),
        ]
        assert await plugin.run_migration() == []
    rows = await query(database, "SELECT version, dirty FROM schema_migrations")
    assert [tuple(r) for r in rows] == [(2, False)]
    assert [r["name"] for r in await query(database, "SELECT name FROM items")] == ["first"]


async def test_replicas_starting_together_apply_each_file_once(
    make_database: MakeDatabase,
    environ_for: Environ,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="lbtoolkit.plugins.postgres")
    database = await make_database()
    slow = {
        **STANDARD,
        "0003_slow.up.sql": "SELECT pg_sleep(0.3); INSERT INTO runs DEFAULT VALUES;",
    }
    folder = write(tmp_path / "migrations", slow)
    results: list[list[int]] = []
    env = environ_for("SVC_PGSQL", DATABASE=database, MIGRATIONS_DIR=str(folder))
    replicas = [
        replica(module, env, results) for module in (postgres_pg, postgres_pg, postgres_gorm)
    ]
    await asyncio.gather(*(app.start() for app in replicas))
    try:
        assert sorted(results) == [[], [], [0, 1, 2, 3]]
        # They did overlap: the lock made the others wait.
        assert any("waiting for it" in r.getMessage() for r in caplog.records)
        runs = await query(database, "SELECT count(*) AS n FROM runs")
        assert runs[0]["n"] == 2  # 0002 and 0003, once each
        rows = await query(database, "SELECT version, dirty FROM schema_migrations")
        assert [tuple(r) for r in rows] == [(3, False)]
    finally:
        await asyncio.gather(*(app.stop() for app in replicas))


async def test_waits_for_golang_migrates_lock(
    make_database: MakeDatabase, environ_for: Environ, tmp_path: Path
) -> None:
    database = await make_database()
    folder = write(tmp_path / "migrations", STANDARD)
    holder = await asyncpg.connect(host="127.0.0.1", user="postgres", database=database)
    try:
        # What a Go replica running golang-migrate holds while it migrates.
        await holder.execute("SELECT pg_advisory_lock($1)", lock_key(database, "public"))
        env = environ_for("TEST", DATABASE=database, MIGRATIONS_DIR=str(folder))
        plugin = postgres_pg.new_test_plugin(environ=env)
        task = asyncio.create_task(plugin.run_migration())
        await asyncio.sleep(0.3)
        assert not task.done()
        await holder.execute("SELECT pg_advisory_unlock($1)", lock_key(database, "public"))
        assert len(await asyncio.wait_for(task, 5)) == 3
    finally:
        await holder.close()


async def test_continues_from_a_version_set_by_golang_migrate(
    make_database: MakeDatabase, environ_for: Environ, tmp_path: Path
) -> None:
    database = await make_database()
    await query(database, GO_TABLE)
    await query(
        database,
        "CREATE TABLE runs (at timestamptz); CREATE TABLE items (id serial, name text);"
        "INSERT INTO schema_migrations VALUES (1, false)",
    )
    folder = write(tmp_path / "migrations", STANDARD)
    env = environ_for("TEST", DATABASE=database, MIGRATIONS_DIR=str(folder))
    plugin = postgres_gorm.new_test_plugin(environ=env)
    assert [m.version for m in await plugin.run_migration()] == [2]


async def test_a_failing_file_is_rolled_back_and_named(
    make_database: MakeDatabase, environ_for: Environ, tmp_path: Path
) -> None:
    database = await make_database()
    folder = write(
        tmp_path / "migrations",
        {
            "1_ok.up.sql": "CREATE TABLE ok (id int);",
            "2_broken.up.sql": "CREATE TABLE half (id int); SELEC 1;",
            "3_later.up.sql": "CREATE TABLE later (id int);",
        },
    )
    env = environ_for("TEST", DATABASE=database, MIGRATIONS_DIR=str(folder))
    plugin = postgres_pg.new_test_plugin(environ=env)
    with pytest.raises(PostgresMigrationError) as caught:
        await plugin.run_migration()
    assert str(caught.value).startswith(
        f'plugin "test" (postgres_pg): migration {folder / "2_broken.up.sql"}: '
        'PostgresSyntaxError: syntax error at or near "SELEC"'
    )
    tables = await query(
        database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )
    assert [r["tablename"] for r in tables] == ["ok", "schema_migrations"]
    rows = await query(database, "SELECT version, dirty FROM schema_migrations")
    assert [tuple(r) for r in rows] == [(1, False)]


async def test_a_dirty_database_is_refused(
    make_database: MakeDatabase, environ_for: Environ, tmp_path: Path
) -> None:
    database = await make_database()
    await query(database, GO_TABLE)
    await query(database, "INSERT INTO schema_migrations VALUES (4, true)")
    folder = write(tmp_path / "migrations", STANDARD)
    env = environ_for("TEST", DATABASE=database, MIGRATIONS_DIR=str(folder))
    plugin = postgres_pg.new_test_plugin(environ=env)
    with pytest.raises(PostgresMigrationError) as caught:
        await plugin.run_migration()
    assert str(caught.value) == (
        'plugin "test" (postgres_pg): migration: the database is dirty at version 4: '
        "a migration stopped halfway\n"
        "Hint: repair the schema by hand, then clear the flag: "
        "UPDATE schema_migrations SET dirty = false"
    )


async def test_no_transaction_files_run_outside_a_transaction(
    make_database: MakeDatabase, environ_for: Environ, tmp_path: Path
) -> None:
    database = await make_database()
    folder = write(
        tmp_path / "migrations",
        {
            "1_table.up.sql": "CREATE TABLE t (id int);",
            "2_index.up.sql": (
                "-- lbtoolkit:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);"
            ),
        },
    )
    env = environ_for("TEST", DATABASE=database, MIGRATIONS_DIR=str(folder))
    plugin = postgres_gorm.new_test_plugin(environ=env)
    assert [m.version for m in await plugin.run_migration()] == [1, 2]
    indexes = await query(database, "SELECT indexname FROM pg_indexes WHERE tablename = 't'")
    assert [r["indexname"] for r in indexes] == ["t_id"]
    rows = await query(database, "SELECT version, dirty FROM schema_migrations")
    assert [tuple(r) for r in rows] == [(2, False)]
