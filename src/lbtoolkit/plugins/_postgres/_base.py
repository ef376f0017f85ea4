"""What both PostgreSQL plugins share: config, lifecycle, readiness, ``info()``, migrations."""

from __future__ import annotations

import asyncio
import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import asyncpg
from pydantic import SecretStr

from lbtoolkit.plugins._postgres._config import Options, PostgresConfig
from lbtoolkit.plugins._postgres._connect import Connector, mask_dsn
from lbtoolkit.plugins._postgres._errors import PostgresMigrationError, PostgresStateError
from lbtoolkit.plugins._postgres._migrations import Migration, apply_migrations

if TYPE_CHECKING:
    import logging

    from lbtoolkit import Runtime

__all__ = ["OUTAGE_ERRORS", "CommonPlugin", "PluginState", "PostgresPlugin"]

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    # The server refused, lost or closed the connection (SQLSTATE class 08),
    # is starting up or shutting down, or has no connection slot left.
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # The socket's own (refused, reset, no route, DNS) and a connect or pool
    # wait timing out: counted only when raised through the plugin's pool.
    OSError,
    TimeoutError,
)
"""What asyncpg raises when the server cannot be reached, as both plugins register it."""


class PluginState(enum.StrEnum):
    """Where a plugin instance is in its life; only ``STARTED`` has a connection."""

    NOT_STARTED = "not started"
    STARTED = "started"
    STOPPED = "stopped"


class CommonPlugin(Protocol):
    """What every PostgreSQL plugin answers, whatever its client library."""

    def info(self) -> str:
        """Print the variables and values in use, secrets masked; return the text."""
        ...

    async def run_migration(self) -> list[Migration]:
        """Apply the pending ``.sql`` files of ``MIGRATIONS_DIR``; return those applied."""
        ...

    async def health_check(self) -> None:
        """Return when the server answers; raise ``PostgresConnectError`` otherwise."""
        ...

    async def pre_start(self) -> None:
        """Open the client and check the server answers, with retries and backoff.

        Fails naming the host and port it could not reach.
        """
        ...

    async def on_stop(self) -> None:
        """Close the client and its pooled connections."""
        ...


class PostgresPlugin:
    """The parts of a PostgreSQL plugin that do not depend on the client library.

    Subclasses set ``kind`` and ``config_model``, open their client in
    ``_open`` (through ``self.connector.retry``), close it in ``_close``
    and answer ``_ping``; they name the objects their client's calls go
    through in ``_outage_owners`` and may add errors to ``outage_errors``.
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[PostgresConfig]]
    outage_errors: ClassVar[tuple[type[BaseException], ...]] = OUTAGE_ERRORS

    def __init__(self, runtime: Runtime, options: Options) -> None:
        self.runtime = runtime
        self.prefix = options.prefix
        self.owner = f'plugin "{self.prefix}" ({self.kind})'
        self.config = runtime.config.parse(self.config_model, self.prefix, owner=self.owner)
        self.log = runtime.log
        self.connector = Connector(
            self.config,
            owner=self.owner,
            application_name=runtime.meta.name,
            names=self.variable,
            log=runtime.log,
        )
        self.state = PluginState.NOT_STARTED
        # Readiness only: a database outage is not cured by restarting the
        # process, which is what a failing liveness probe would do.
        runtime.tools.probes.register_check(
            self.prefix, "readiness", self.health_check, timeout=self.connector.timeout
        )
        self.outage = runtime.tools.outages.register(
            self.prefix,
            self.kind,
            self.outage_errors,
            matches=self._is_outage,
            owners=self._outage_owners,
            describe=self.connector.describe,
        )

    def variable(self, name: str) -> str:
        """The full name of this plugin's variable ``name`` (``HOST`` -> ``SVC_PGSQL_HOST``)."""
        return self.runtime.config.variable_name(name, self.prefix)

    def info(self) -> str:
        """Print the plugin's variables and the values in use (secrets masked); return the text."""
        text = self.runtime.config.describe(self.owner, self.config, show=_show)
        sys.stdout.write(text + "\n")
        return text

    async def pre_start(self) -> None:
        """Open the client, retrying as configured; fail naming host and port."""
        if self.state is PluginState.STARTED:
            return
        await self._open(self.log.getChild(f"{self.prefix}.sql"))
        self.state = PluginState.STARTED
        self.log.info("%s: connected to %s", self.owner, self.connector.address)

    async def on_stop(self) -> None:
        """Close the client; until the next ``pre_start`` calls that need it raise."""
        if self.state is PluginState.STARTED:
            self.state = PluginState.STOPPED
        await self._close()

    async def health_check(self) -> None:
        """Return when the server answers a query; raise otherwise.

        Raises :class:`PostgresStateError` before ``pre_start`` and after
        ``on_stop``, :class:`PostgresConnectError` when the server does not answer.
        """
        self._require("health_check")
        try:
            async with asyncio.timeout(self.connector.timeout):
                await self._ping()
        except Exception as error:  # noqa: BLE001 - reported as a connection error
            raise self.connector.error(error) from None
        self.outage.available()

    async def run_migration(self) -> list[Migration]:
        """Apply the pending migrations of ``MIGRATIONS_DIR``; return those applied.

        Safe to call from several replicas at once: an advisory lock lets one
        apply the files while the others wait and then find nothing to do.
        """
        if not self.config.migrations_dir:
            raise PostgresMigrationError(
                self.owner,
                None,
                "no migrations directory is configured",
                hint=f"set {self.variable('MIGRATIONS_DIR')} to the folder of .sql files",
            )
        directory = Path(self.config.migrations_dir)
        conn = await self.connector.retry(self.connector.connect)
        try:
            return await apply_migrations(
                conn, directory, owner=self.owner, secrets=self.connector.secrets
            )
        finally:
            await conn.close()

    async def _open(self, sql_log: logging.Logger) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    async def _ping(self) -> None:
        raise NotImplementedError

    def _outage_owners(self) -> tuple[object, ...]:
        """The client's objects (pool, engine) whose methods raise its builtin errors."""
        return ()

    def _is_outage(self, error: BaseException) -> bool:  # noqa: ARG002 - for subclasses
        """Whether ``error``, of no type in ``outage_errors``, still means the server is gone."""
        return False

    def _require(self, method: str) -> None:
        if self.state is not PluginState.STARTED:
            raise PostgresStateError(self.owner, method, self.state)


def _show(field: str, value: object) -> str | None:
    # The DSN keeps its host and database readable; only its password is masked.
    if field == "dsn" and isinstance(value, SecretStr) and value.get_secret_value():
        return mask_dsn(value.get_secret_value())
    return None
