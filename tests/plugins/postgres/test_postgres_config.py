"""Configuration, public API, info() and error texts of the PostgreSQL plugins (no server)."""

from __future__ import annotations

import importlib
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pytest

import lbtoolkit
from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import postgres_gorm, postgres_pg, postgres_pgx
from lbtoolkit.plugins._postgres import (
    Connector,
    PostgresConnectError,
    PostgresMigrationError,
    PostgresStateError,
    lock_key,
    mask_dsn,
    read_migrations,
)
from lbtoolkit.testing import new_test_runtime

PLUGINS = [postgres_gorm, postgres_pg]


@pytest.mark.parametrize("module", PLUGINS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_defaults_are_the_guides(module: ModuleType) -> None:
    plugin = module.new_test_plugin()
    config = plugin.config
    assert (config.dsn, config.host, config.port) == (None, "localhost", 5432)
    assert (config.username, config.password.get_secret_value(), config.database) == ("", "", "")
    assert (config.ssl_mode, config.timezone, config.migrations_dir) == ("disable", "UTC", "")
    assert config.debug is False
    assert (config.max_connections, config.max_idle_connections) == (10, 5)
    assert config.conn_max_lifetime == timedelta(hours=1)
    assert config.conn_max_idle_time == timedelta(minutes=30)


def test_two_instances_parse_under_their_own_prefix() -> None:
    runtime = new_test_runtime(
        env_prefix="SVC",
        environ={
            "SVC_USERS_DB_DATABASE": "users",
            "SVC_USERS_DB_PASSWORD": "users-secret",
            "SVC_USERS_DB_MAX_CONNECTIONS": "4",
            "SVC_ORDERS_DB_DATABASE": "orders",
            "SVC_ORDERS_DB_PORT": "6543",
            "SVC_ORDERS_DB_CONN_MAX_LIFETIME": "90m",
        },
    )
    users = postgres_gorm.GormPlugin(runtime, postgres_gorm.Options(name="users_db"))
    orders = postgres_gorm.GormPlugin(runtime, postgres_gorm.Options(name="orders_db"))
    runtime.config.raise_for_issues()
    assert (users.config.database, users.config.port, users.config.max_connections) == (
        "users",
        5432,
        4,
    )
    assert users.config.password.get_secret_value() == "users-secret"
    assert (orders.config.database, orders.config.port) == ("orders", 6543)
    assert orders.config.conn_max_lifetime == timedelta(minutes=90)
    assert orders.config.password.get_secret_value() == ""


def test_go_names_are_accepted_but_help_lists_the_guides() -> None:
    plugin = postgres_pg.new_test_plugin(
        environ={
            "TEST_SSLMODE": "require",
            "TEST_MAX_POOL_SIZE": "20",
            "TEST_MIN_POOL_SIZE": "2",
            "TEST_MAX_CONN_LIFETIME": "2h",
            "TEST_MAX_CONN_IDLE_TIME": "1m",
        }
    )
    assert isinstance(plugin, postgres_pg.PgPlugin)
    config = plugin.config
    assert (config.ssl_mode, config.max_connections, config.max_idle_connections) == (
        "require",
        20,
        2,
    )
    assert (config.conn_max_lifetime, config.conn_max_idle_time) == (
        timedelta(hours=2),
        timedelta(minutes=1),
    )
    table = plugin.runtime.config.print_table(all=True)
    assert "TEST_SSL_MODE " in table
    assert "TEST_SSLMODE" not in table
    assert "TEST_MAX_POOL_SIZE" not in table


def test_bad_values_are_reported_together_without_the_dsn() -> None:
    runtime = new_test_runtime(
        env_prefix="SVC",
        environ={
            "SVC_PGSQL_PORT": "abc",
            "SVC_PGSQL_DSN": "mysql://user:dsn-secret@db/x",
            "SVC_PGSQL_SSL_MODE": "sometimes",
            "SVC_PGSQL_CONN_TIMEOUT": "0s",
        },
    )
    postgres_pg.new_plugin(runtime, postgres_pg.Options(name="pgsql"))
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    text = str(caught.value)
    assert {issue.variable for issue in caught.value.issues} == {
        "SVC_PGSQL_PORT",
        "SVC_PGSQL_DSN",
        "SVC_PGSQL_SSL_MODE",
        "SVC_PGSQL_CONN_TIMEOUT",
    }
    assert "SVC_PGSQL_PORT: 'abc' is not a valid integer" in text
    assert "must be a URL starting with postgres:// or postgresql://" in text
    assert "dsn-secret" not in text


def test_test_constructor_raises_config_problems_at_once() -> None:
    with pytest.raises(ConfigError, match="TEST_MAX_CONNECTIONS"):
        postgres_gorm.new_test_plugin(environ={"TEST_MAX_CONNECTIONS": "0"})


def test_empty_name_means_psql_as_in_go() -> None:
    assert postgres_pg.Options(name="").prefix == "psql"
    plugin = postgres_pg.new_test_plugin(postgres_pg.Options(name=""))
    assert isinstance(plugin, postgres_pg.PgPlugin)
    assert plugin.owner == 'plugin "psql" (postgres_pg)'


@pytest.mark.parametrize("module", PLUGINS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_info_masks_the_password(module: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    plugin = module.new_test_plugin(
        environ={"TEST_PASSWORD": "pw-Secret-1", "TEST_DATABASE": "shop"}
    )
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert "pw-Secret-1" not in text
    assert "  TEST_PASSWORD             = ******" in text.splitlines()
    assert "  TEST_DATABASE             = shop" in text.splitlines()
    assert text.splitlines()[0] == f'plugin "test" ({module.__name__.rsplit(".", 1)[1]})'


def test_info_shows_the_dsn_with_its_password_masked(capsys: pytest.CaptureFixture[str]) -> None:
    dsn = "postgres://app:p%40ss-word@db.internal:6432/shop?sslmode=require"
    plugin = postgres_gorm.new_test_plugin(environ={"TEST_DSN": dsn, "TEST_PASSWORD": "pw-2"})
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert "p%40ss" not in text
    assert "p@ss" not in text
    assert text == (
        'plugin "test" (postgres_gorm)\n'
        "  TEST_DSN                  = postgres://app:******@db.internal:6432/shop?sslmode=require\n"
        "  TEST_HOST                 = localhost\n"
        "  TEST_PORT                 = 5432\n"
        "  TEST_USERNAME             =\n"
        "  TEST_PASSWORD             = ******\n"
        "  TEST_DATABASE             =\n"
        "  TEST_SSL_MODE             = disable\n"
        "  TEST_TIMEZONE             = UTC\n"
        "  TEST_MIGRATIONS_DIR       =\n"
        "  TEST_DEBUG                = false\n"
        "  TEST_MAX_CONNECTIONS      = 10\n"
        "  TEST_MAX_IDLE_CONNECTIONS = 5\n"
        "  TEST_CONN_MAX_LIFETIME    = 1h\n"
        "  TEST_CONN_MAX_IDLE_TIME   = 30m\n"
        "  TEST_CONN_ATTEMPTS        = 3\n"
        "  TEST_CONN_TIMEOUT         = 5s\n"
        "  TEST_APPLICATION_NAME     =\n"
        "  TEST_PRE_PING             = false"
    )


def test_info_shows_an_unset_dsn_as_empty() -> None:
    plugin = postgres_gorm.new_test_plugin()
    assert "  TEST_DSN                  =" in plugin.info().splitlines()


def test_mask_dsn_covers_user_part_and_query() -> None:
    assert mask_dsn("postgresql://u:pw@h/db") == "postgresql://u:******@h/db"
    assert mask_dsn("postgresql://h/db?user=u&password=pw") == (
        "postgresql://h/db?user=u&password=******"
    )
    assert mask_dsn("postgresql://u@h:5433/db") == "postgresql://u@h:5433/db"


def test_connector_address_and_kwargs_follow_the_dsn() -> None:
    plugin = postgres_pg.new_test_plugin(
        environ={
            "TEST_DSN": "postgres://u:pw@db.internal/shop?application_name=from-dsn",
            "TEST_HOST": "ignored",
            "TEST_TIMEZONE": "Europe/Berlin",
        }
    )
    assert isinstance(plugin, postgres_pg.PgPlugin)
    connector = plugin.connector
    assert connector.address == "db.internal:5432"
    kwargs = connector.connect_kwargs()
    assert set(kwargs) == {"dsn", "server_settings", "timeout"}
    assert kwargs["server_settings"] == {"timezone": "Europe/Berlin"}


def test_connector_kwargs_from_fields() -> None:
    plugin = postgres_gorm.new_test_plugin(
        environ={
            "TEST_HOST": "10.1.2.3",
            "TEST_PORT": "6000",
            "TEST_USERNAME": "app",
            "TEST_PASSWORD": "pw",
            "TEST_DATABASE": "shop",
            "TEST_SSL_MODE": "verify-full",
            "TEST_APPLICATION_NAME": "shop-api",
            "TEST_CONN_TIMEOUT": "1500ms",
        }
    )
    assert isinstance(plugin, postgres_gorm.GormPlugin)
    assert plugin.connector.connect_kwargs() == {
        "host": "10.1.2.3",
        "port": 6000,
        "user": "app",
        "password": "pw",
        "database": "shop",
        "ssl": "verify-full",
        "server_settings": {"application_name": "shop-api", "timezone": "UTC"},
        "timeout": 1.5,
    }


def test_connect_error_text() -> None:
    error = PostgresConnectError(
        'plugin "pgsql" (postgres_pg)',
        "127.0.0.1:1",
        "ConnectionRefusedError: refused",
        attempts=3,
        hint="check SVC_PGSQL_HOST",
    )
    assert isinstance(error, lbtoolkit.LbToolkitError)
    assert isinstance(error, ConnectionError)
    assert str(error) == (
        'plugin "pgsql" (postgres_pg): cannot connect to 127.0.0.1:1 after 3 attempts: '
        "ConnectionRefusedError: refused\nHint: check SVC_PGSQL_HOST"
    )


def test_connector_scrubs_the_password_from_causes() -> None:
    plugin = postgres_pg.new_test_plugin(environ={"TEST_PASSWORD": "hunter2-x"})
    assert isinstance(plugin, postgres_pg.PgPlugin)
    connector: Connector = plugin.connector
    error = connector.error(OSError("could not use hunter2-x"))
    assert "hunter2-x" not in str(error)
    assert "OSError: could not use ******" in str(error)
    assert "TEST_HOST and TEST_PORT (or TEST_DSN)" in str(error)


def test_a_one_character_password_leaves_the_rest_of_a_message_readable() -> None:
    plugin = postgres_pg.new_test_plugin(
        environ={"TEST_DSN": "postgres://app:p@db.internal/shop?sslmode=require"}
    )
    assert isinstance(plugin, postgres_pg.PgPlugin)
    cause = ValueError(
        "cannot use postgres://app:p@db.internal/shop?sslmode=require: 'sslmode' parameter "
        "needs a server with SSL (password p rejected)"
    )
    assert str(plugin.connector.error(cause)).splitlines()[0] == (
        'plugin "test" (postgres_pg): cannot connect to db.internal:5432: ValueError: cannot use '
        "postgres://app:******@db.internal/shop?sslmode=require: 'sslmode' parameter "
        "needs a server with SSL (password ****** rejected)"
    )


def test_state_error_text() -> None:
    plugin = postgres_pg.new_test_plugin()
    with pytest.raises(PostgresStateError) as caught:
        plugin.db()
    assert isinstance(caught.value, RuntimeError)
    assert str(caught.value).splitlines()[0] == (
        'plugin "test" (postgres_pg): db() called while the plugin is not started'
    )


async def test_run_migration_without_a_directory_names_the_variable() -> None:
    plugin = postgres_pg.new_test_plugin()
    with pytest.raises(PostgresMigrationError) as caught:
        await plugin.run_migration()
    assert str(caught.value) == (
        'plugin "test" (postgres_pg): migration: no migrations directory is configured\n'
        "Hint: set TEST_MIGRATIONS_DIR to the folder of .sql files"
    )


def test_read_migrations_orders_by_version_and_skips_down_files(tmp_path: Path) -> None:
    for name in ("10_c.up.sql", "2_b.sql", "0001_a.up.sql", "0001_a.down.sql", "notes.txt"):
        (tmp_path / name).write_text("SELECT 1;")
    found = read_migrations(tmp_path, owner="o")
    assert [(m.version, m.title, m.path.name) for m in found] == [
        (1, "a", "0001_a.up.sql"),
        (2, "b", "2_b.sql"),
        (10, "c", "10_c.up.sql"),
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["init.sql"], "has no leading version number"),
        (["1_a.up.sql", "0001_b.up.sql"], "has the same version 1 as"),
    ],
)
def test_read_migrations_rejects_ambiguous_folders(
    tmp_path: Path, files: list[str], message: str
) -> None:
    for name in files:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(PostgresMigrationError, match=message):
        read_migrations(tmp_path, owner="o")


def test_read_migrations_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PostgresMigrationError, match="is not a directory"):
        read_migrations(tmp_path / "missing", owner="o")


def test_lock_key_is_golang_migrates() -> None:
    # golang-migrate's own test vector: GenerateAdvisoryLockId("database_name",
    # "schema_name_1", "schema_name_2") == "3743845847".
    assert lock_key("database_name", "schema_name_1", "schema_name_2") == 3743845847


def test_entry_points_name_these_modules() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="lbtoolkit.plugins")}
    assert found["postgres_gorm"] == "lbtoolkit.plugins.postgres_gorm"
    assert found["postgres_pg"] == "lbtoolkit.plugins.postgres_pg"
    assert found["postgres_pgx"] == "lbtoolkit.plugins.postgres_pgx"
    assert found["postgres"] == "lbtoolkit.plugins.postgres_pg"
    for name in ("postgres_gorm", "postgres_pg", "postgres_pgx"):
        module = importlib.import_module(found[name])
        for attr in ("Plugin", "Options", "Config", "new_plugin", "new_test_plugin"):
            assert hasattr(module, attr), (name, attr)


def test_pgx_is_the_pg_plugin_not_a_copy() -> None:
    assert postgres_pgx.new_plugin is postgres_pg.new_plugin
    assert postgres_pgx.Config is postgres_pg.Config
    assert postgres_pgx.Plugin is postgres_pg.Plugin


@pytest.mark.parametrize("module", [postgres_gorm, postgres_pg, postgres_pgx])
def test_all_is_sorted(module: ModuleType) -> None:
    names = module.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(module, name)


@pytest.mark.parametrize(
    ("dsn", "problem"),
    [
        ("postgres://u:dsn-secret@db:notaport/x", "must be a URL whose host and port can be read"),
        ("postgres://u:dsn-secret@db:99999/x", "must be a URL whose host and port can be read"),
        ("postgres://u:dsn-secret@[::1/x", "must be a URL whose host and port can be read"),
        (
            "postgres://u:dsn-secret@db/x?sslmode=sometimes",
            "sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full",
        ),
    ],
)
def test_a_malformed_dsn_is_refused_before_start_without_echoing_it(dsn: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        postgres_pg.new_test_plugin(environ={"TEST_DSN": dsn})
    assert str(caught.value) == (
        f"invalid configuration: 1 problem\n  TEST_DSN: invalid value (hidden): {problem}"
    )


def test_a_host_that_is_no_host_name_is_refused_but_a_socket_directory_is_not() -> None:
    with pytest.raises(ConfigError) as caught:
        postgres_pg.new_test_plugin(environ={"TEST_HOST": ".."})
    assert str(caught.value) == (
        "invalid configuration: 1 problem\n  TEST_HOST: '..' is not a valid host name"
    )
    postgres_pg.new_test_plugin(environ={"TEST_HOST": "/var/run/postgresql"})
