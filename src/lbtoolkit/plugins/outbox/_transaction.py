"""Writing messages to the outbox table in the caller's own transaction."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from opentelemetry import propagate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lbtoolkit.plugins._messaging import HeaderValue
from lbtoolkit.plugins.outbox._errors import OutboxMessageError
from lbtoolkit.plugins.outbox._sql import INSERT_MESSAGE

__all__ = ["OutboxTransaction", "open_transaction"]

_HEADER_TYPES = (str, int, float, bool, type(None))
# SQLAlchemy's text() takes named parameters; asyncpg's $n stay for the raw connection.
_INSERT_NAMED = text(
    INSERT_MESSAGE.replace("$1", ":message_id")
    .replace("$2", ":key")
    .replace("$3", ":event")
    .replace("$4", ":payload")
    .replace("$5::jsonb", "CAST(:headers AS jsonb)")
)


class OutboxTransaction:
    """The outbox side of one database transaction; ``publish`` adds a message to it.

    Messages are sent by the relay once the transaction commits, and never
    if it rolls back. Messages of one ``key`` are sent in the order they were
    written.
    """

    def __init__(self, owner: str, connection: AsyncSession | Any) -> None:
        self._owner = owner
        self._connection = connection
        self.message_ids: list[str] = []
        """The ids of the messages written so far, as consumers see them."""

    async def publish(
        self,
        event: str,
        payload: bytes,
        *,
        key: str = "",
        headers: Mapping[str, HeaderValue] | None = None,
    ) -> str:
        """Write ``payload`` as ``event`` to the outbox; return the message id.

        ``key`` is the aggregate key (a user id, an order id): messages of one
        key reach the broker in the order written. Header values are text,
        numbers, booleans or None (bytes cannot be stored as JSON).
        """
        if not event:
            raise OutboxMessageError(self._owner, event, "the event name is empty")
        carried = dict(headers or {})
        # The trace of the request writing the message travels with the row:
        # the relay publishes it as part of that trace, however much later.
        propagate.inject(carried)
        encoded = _encode_headers(self._owner, event, carried)
        message_id = os.urandom(16).hex()
        data = bytes(payload)
        if isinstance(self._connection, AsyncSession):
            parameters = {
                "message_id": message_id,
                "key": key,
                "event": event,
                "payload": data,
                "headers": encoded,
            }
            await self._connection.execute(_INSERT_NAMED, parameters)
        else:
            await self._connection.execute(INSERT_MESSAGE, message_id, key, event, data, encoded)
        self.message_ids.append(message_id)
        return message_id


def _encode_headers(owner: str, event: str, headers: Mapping[str, HeaderValue] | None) -> str:
    if not headers:
        return "{}"
    for name, value in headers.items():
        if not isinstance(value, _HEADER_TYPES):
            problem = (
                f"header {name!r} is {type(value).__name__}; outbox headers are "
                "str, int, float, bool or None"
            )
            raise OutboxMessageError(owner, event, problem)
    return json.dumps(dict(headers))


@asynccontextmanager
async def open_transaction(owner: str, connection: AsyncSession | Any) -> AsyncIterator[Any]:
    """An :class:`OutboxTransaction` on ``connection`` (AsyncSession or asyncpg connection).

    Begins a transaction when none is open and commits it when the block ends
    (rolls it back when the block raises). Inside a transaction already open,
    the messages join it: they are sent if and when its owner commits.
    """
    if isinstance(connection, AsyncSession):
        if connection.in_transaction():
            yield OutboxTransaction(owner, connection)
            return
        async with connection.begin():
            yield OutboxTransaction(owner, connection)
        return
    if connection.is_in_transaction():
        yield OutboxTransaction(owner, connection)
        return
    async with connection.transaction():
        yield OutboxTransaction(owner, connection)
