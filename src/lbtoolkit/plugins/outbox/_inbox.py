"""The idempotent consumer: a message id recorded in the handler's own transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text

from lbtoolkit.plugins._messaging import Delivery, Handler
from lbtoolkit.plugins.outbox._relay import MESSAGE_ID_HEADER
from lbtoolkit.plugins.outbox._sql import INSERT_INBOX

__all__ = ["IdempotentHandler", "idempotent_handler", "message_id_of"]

IdempotentHandler = Callable[[Delivery, Any], Awaitable[object]]
"""``async def handle(delivery: Delivery, session) -> ...``: ``session`` is the open
transaction (an ``AsyncSession`` for postgres_gorm, an asyncpg connection for postgres_pg)."""

_INSERT_NAMED = text(INSERT_INBOX.replace("$1", ":consumer").replace("$2", ":message_id"))

OpenSession = Callable[[], Any]


def message_id_of(delivery: Delivery) -> str | None:
    """The id that makes two deliveries one message: the outbox's, else the broker's."""
    value = delivery.headers.get(MESSAGE_ID_HEADER)
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value:
        return value
    return delivery.message_id


def idempotent_handler(
    handler: IdempotentHandler,
    *,
    consumer: str,
    transaction: Callable[[], Any],
    on_duplicate: Callable[[Delivery], None],
) -> Handler:
    """A delivery handler that runs ``handler`` at most once per message id.

    ``transaction()`` opens the handler's transaction (an async context
    manager yielding the session or connection, committing on success).
    """

    async def on_delivery(delivery: Delivery) -> object:
        message_id = message_id_of(delivery)
        async with transaction() as session:
            if message_id is not None and not await _record(session, consumer, message_id):
                # Committed by an earlier delivery: acknowledged without running again.
                on_duplicate(delivery)
                return None
            return await handler(delivery, session)

    on_delivery.__qualname__ = getattr(handler, "__qualname__", on_delivery.__qualname__)
    return on_delivery


async def _record(session: Any, consumer: str, message_id: str) -> bool:
    """Insert the id; False when a committed (or concurrent, then committed) row has it."""
    if hasattr(session, "get_bind"):  # an AsyncSession
        result = await session.execute(
            _INSERT_NAMED, {"consumer": consumer, "message_id": message_id}
        )
        return bool(result.rowcount)
    status = await session.execute(INSERT_INBOX, consumer, message_id)
    return str(status).endswith(" 1")


@asynccontextmanager
async def gorm_transaction(plugin: Any) -> AsyncIterator[Any]:
    """A session of a postgres_gorm plugin in a transaction committed at the end."""
    async with plugin.session() as session, session.begin():
        yield session


@asynccontextmanager
async def pg_transaction(plugin: Any) -> AsyncIterator[Any]:
    """A pooled asyncpg connection of a postgres_pg plugin in a transaction."""
    async with plugin.db().acquire() as conn, conn.transaction():
        yield conn
