"""The outbox plugin: transactional outbox, its relay, and the idempotent-consumer inbox."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from lbtoolkit.plugins._messaging import Delivery, Handler, HeaderValue
from lbtoolkit.plugins._postgres import PostgresPlugin, apply_migrations
from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.outbox._config import Config, Options
from lbtoolkit.plugins.outbox._errors import OutboxDependencyError, OutboxStateError
from lbtoolkit.plugins.outbox._inbox import (
    IdempotentHandler,
    gorm_transaction,
    idempotent_handler,
    pg_transaction,
)
from lbtoolkit.plugins.outbox._relay import Relay, RelaySettings
from lbtoolkit.plugins.outbox._sql import CLEAN_INBOX, MIGRATIONS, MIGRATIONS_TABLE
from lbtoolkit.plugins.outbox._transaction import OutboxTransaction, open_transaction

if TYPE_CHECKING:
    from lbtoolkit.runtime import Runtime

__all__ = ["MessageBroker", "OutboxPlugin", "Plugin"]


@runtime_checkable
class MessageBroker(Protocol):
    """What the outbox needs of a broker plugin (rabbitmq and nats both answer it)."""

    async def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> None: ...

    async def subscribe(self, service: str, event: str, handler: Any, **options: Any) -> Any: ...


class _State(enum.StrEnum):
    NOT_STARTED = "not started"
    STARTED = "started"
    STOPPED = "stopped"


class Plugin(Protocol):
    """Transactional outbox and idempotent consumers; what services and handlers call."""

    def transaction(
        self, session: AsyncSession | Any
    ) -> AbstractAsyncContextManager[OutboxTransaction]:
        """``async with outbox.transaction(session) as tx: await tx.publish(...)``.

        ``session`` is an ``AsyncSession`` or an asyncpg connection of the
        outbox's database. Messages are sent once the transaction commits.
        """
        ...

    def idempotent(self, handler: IdempotentHandler, *, consumer: str) -> Handler:
        """A subscription handler running ``handler(delivery, session)`` once per message id."""
        ...

    async def clean_inbox(self) -> int:
        """Delete inbox rows older than ``INBOX_RETENTION`` now; return how many."""
        ...

    def info(self) -> str:
        """Print the plugin's variables and values; return the text."""
        ...


class OutboxPlugin:
    """The implementation behind :class:`Plugin`; build it with ``new_plugin``."""

    # Started after (and stopped before) every PostgreSQL and broker plugin of the
    # service, so the relay never runs on a closed pool or connection.
    depends_on: ClassVar[tuple[type, ...]] = (PostgresPlugin, MessageBroker)

    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name
        self._owner = f'plugin "{options.name}" (outbox)'
        self._log = runtime.log.getChild(options.name)
        self.config = runtime.config.parse(Config, options.name, owner=self._owner)
        self._given_database = options.database
        self._given_broker = options.broker
        self._database: PostgresPlugin | None = None
        self._broker: MessageBroker | None = None
        self._relay: Relay | None = None
        self._cleaner: asyncio.Task[None] | None = None
        self._state = _State.NOT_STARTED
        self.duplicates = 0
        """Deliveries acknowledged without running their handler (seen before)."""

    # -- lifecycle -------------------------------------------------------------
    async def pre_start(self) -> None:
        """Find the database and broker plugins; create or update the outbox tables."""
        database = self._find_database()
        broker = self._find_broker()
        conn = await database.connector.retry(database.connector.connect)
        try:
            await apply_migrations(
                conn,
                MIGRATIONS,
                owner=self._owner,
                secrets=database.connector.secrets,
                table=MIGRATIONS_TABLE,
            )
        finally:
            await conn.close()
        self._database, self._broker = database, broker
        self._state = _State.STARTED

    async def on_start(self) -> None:
        """Start the relay and the inbox cleanup."""
        database, broker = self._started("on_start")
        config = self.config
        self._relay = Relay(
            owner=self._owner,
            connect=database.connector.connect,
            publish=broker.publish,
            settings=RelaySettings(
                poll_interval=config.poll_interval.total_seconds(),
                batch_size=config.batch_size,
                retry_backoff=config.retry_backoff.total_seconds(),
                max_retry_backoff=config.max_retry_backoff.total_seconds(),
            ),
            log=self._log,
            secrets=database.connector.secrets,
        )
        self._relay.start()
        self._cleaner = asyncio.get_running_loop().create_task(
            self._clean_periodically(), name=f"{self._owner} inbox cleanup"
        )

    async def on_stop(self) -> None:
        """Finish the relay's round in progress, then stop it and the cleanup."""
        self._state = _State.STOPPED if self._state is _State.STARTED else self._state
        cleaner, self._cleaner = self._cleaner, None
        if cleaner is not None:
            cleaner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cleaner
        relay, self._relay = self._relay, None
        if relay is not None:
            await relay.stop(self.config.stop_timeout.total_seconds())

    # -- the plugin's API ------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self, session: AsyncSession | Any) -> AsyncIterator[OutboxTransaction]:
        """Messages published through the yielded object are written in ``session``'s transaction.

        Without an open transaction, one is begun and committed when the block
        ends (rolled back if it raises); inside one, the caller commits.
        """
        async with open_transaction(self._owner, session) as tx:
            yield tx

    def idempotent(self, handler: IdempotentHandler, *, consumer: str) -> Handler:
        """Wrap ``handler`` so that each message id runs it at most once for ``consumer``.

        The wrapper opens a transaction on the outbox's database, records the
        id in the inbox table, calls ``handler(delivery, session)`` and commits
        both together. A delivery whose id is recorded already is acknowledged
        without calling ``handler``. ``consumer`` names the effect (one id may
        be consumed once by each consumer).
        """

        def transaction() -> AbstractAsyncContextManager[Any]:
            # Not refused after on_stop: the broker stops after the outbox and lets
            # its running handlers finish, and the database is still open then.
            database = self._database
            if database is None:
                raise OutboxStateError(self._owner, "a handler made by idempotent", self._state)
            if hasattr(database, "session"):
                return gorm_transaction(database)
            return pg_transaction(database)

        return idempotent_handler(
            handler, consumer=consumer, transaction=transaction, on_duplicate=self._duplicate
        )

    async def clean_inbox(self) -> int:
        """Delete inbox rows older than ``INBOX_RETENTION``; return how many went."""
        database, _ = self._started("clean_inbox")
        retention = self.config.inbox_retention.total_seconds()
        conn = await database.connector.connect()
        try:
            status = await conn.execute(CLEAN_INBOX, retention)
        finally:
            await conn.close()
        return int(str(status).rsplit(" ", 1)[-1])

    def wake(self) -> None:
        """Have the relay look for messages now (NOTIFY does it after each commit)."""
        if self._relay is not None:
            self._relay.wake()

    @property
    def sent(self) -> int:
        """Messages this instance's relay sent since it started."""
        return 0 if self._relay is None else self._relay.sent

    def info(self) -> str:
        """Print the plugin's variables and values; return the text."""
        text = self._runtime.config.describe(self._owner, self.config)
        sys.stdout.write(text + "\n")
        return text

    # -- helpers ---------------------------------------------------------------
    def _duplicate(self, delivery: Delivery) -> None:
        self.duplicates += 1
        self._log.debug("%s: %r delivered again; acknowledged", self._owner, delivery.event)

    async def _clean_periodically(self) -> None:
        interval = self.config.inbox_cleanup_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                removed = await self.clean_inbox()
            except Exception as error:  # noqa: BLE001 - tried again next interval
                self._log.warning("%s: inbox cleanup failed: %s", self._owner, describe(error))
                continue
            if removed:
                self._log.info("%s: removed %d expired inbox rows", self._owner, removed)

    def _started(self, method: str) -> tuple[PostgresPlugin, MessageBroker]:
        if self._state is not _State.STARTED or self._database is None or self._broker is None:
            raise OutboxStateError(self._owner, method, self._state)
        return self._database, self._broker

    def _variable(self, name: str) -> str:
        return self._runtime.config.variable_name(name, self._prefix)

    def _find_database(self) -> PostgresPlugin:
        variable = self._variable("DATABASE")
        found = self._given_database or self._find(
            self.config.database, variable, "PostgreSQL", lambda p: isinstance(p, PostgresPlugin)
        )
        if not isinstance(found, PostgresPlugin):
            problem = f"{type(found).__qualname__} is no PostgreSQL plugin"
            hint = "name a postgres_gorm or postgres_pg plugin"
            raise OutboxDependencyError(self._owner, variable, problem, hint=hint)
        return found

    def _find_broker(self) -> MessageBroker:
        variable = self._variable("BROKER")
        found = self._given_broker or self._find(
            self.config.broker, variable, "broker", lambda p: isinstance(p, MessageBroker)
        )
        if not isinstance(found, MessageBroker):
            problem = f"{type(found).__qualname__} has no publish() and subscribe()"
            hint = "name a rabbitmq or nats plugin"
            raise OutboxDependencyError(self._owner, variable, problem, hint=hint)
        return found

    def _find(
        self, prefix: str, variable: str, kind: str, fits: Callable[[object], bool]
    ) -> object:
        components = [c for c in self._runtime.plugin.components if c.instance is not self]
        if prefix:
            owner = f'plugin "{prefix}"'
            named = [c.instance for c in components if c.owner == owner]
            if not named:
                known = ", ".join(c.owner for c in components) or "none"
                problem = f"no plugin has the prefix {prefix!r} (plugins: {known})"
                raise OutboxDependencyError(
                    self._owner, variable, problem, hint="set it to the prefix in the .proto file"
                )
            return named[0]
        fitting = [c for c in components if fits(c.instance)]
        if len(fitting) == 1:
            return fitting[0].instance
        problem = (
            f"the service has no {kind} plugin"
            if not fitting
            else f"the service has {len(fitting)} {kind} plugins: "
            + ", ".join(c.owner for c in fitting)
        )
        raise OutboxDependencyError(
            self._owner, variable, problem, hint=f"set {variable} to the prefix of the one to use"
        )
