"""The outbox on the real PostgreSQL ``test`` database and the shared RabbitMQ."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text
from tests.plugins.outbox.outbox_support import (
    broker_plugin,
    database_plugin,
    open_all,
    outbox_plugin,
    schema_dsn,
    unique,
    wait_until,
)

from lbtoolkit.plugins import outbox
from lbtoolkit.plugins._postgres import apply_migrations
from lbtoolkit.plugins.outbox._relay import Relay, RelaySettings
from lbtoolkit.plugins.outbox._sql import MIGRATIONS
from lbtoolkit.plugins.rabbitmq import Delivery

WAIT = 30.0


class RollbackRequestedError(Exception):
    """Raised inside a transaction to roll it back."""


@pytest.mark.parametrize("kind", ["gorm", "pg"])
async def test_a_rolled_back_transaction_publishes_nothing(
    kind: str, schema: str, services: list[str], admin: Any
) -> None:
    publisher, consumer = unique("pub"), unique("sub")
    services += [publisher, consumer]
    db = database_plugin(kind, schema_dsn(schema))
    events = broker_plugin(publisher)
    listener = broker_plugin(consumer)
    box = outbox_plugin(db, events, POLL_INTERVAL="100ms")
    seen: list[tuple[str, bytes]] = []

    async def record(delivery: Delivery) -> None:
        seen.append((delivery.event, delivery.data))

    await listener.subscribe(publisher, "created", record)
    await listener.subscribe(publisher, "marker", record)
    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, listener, box)
        with pytest.raises(RollbackRequestedError):
            await _publish_then_fail(kind, db, box)
        async with _connection(kind, db) as conn, box.transaction(conn) as tx:
            await tx.publish("marker", b"committed", key="u1")
        await wait_until(lambda: len(seen) >= 1, WAIT, "the committed marker")
        # The relay deletes a row once the broker confirmed it, which may come
        # after the consumer already has the message.
        left = await _rows_left_once_settled(admin)
    assert seen == [("marker", b"committed")]
    assert left == 0


@pytest.mark.parametrize("kind", ["gorm", "pg"])
async def test_committed_messages_all_arrive_in_order_per_key(
    kind: str, schema: str, services: list[str]
) -> None:
    publisher, consumer = unique("pub"), unique("sub")
    services += [publisher, consumer]
    db = database_plugin(kind, schema_dsn(schema))
    events = broker_plugin(publisher)
    listener = broker_plugin(consumer)
    box = outbox_plugin(db, events, BATCH_SIZE="50")
    keys = [f"user-{n}" for n in range(5)]
    per_key = 60
    seen: dict[str, list[int]] = {key: [] for key in keys}
    headers_seen: list[dict[str, object]] = []

    async def record(delivery: Delivery) -> None:
        key, _, number = delivery.data.decode().partition(":")
        seen[key].append(int(number))
        headers_seen.append(dict(delivery.headers))

    await listener.subscribe(publisher, "created", record, prefetch=1)

    async def write(numbers: range) -> None:
        async with _connection(kind, db) as conn:
            for number in numbers:
                async with box.transaction(conn) as tx:
                    for key in keys:
                        data = f"{key}:{number}".encode()
                        await tx.publish("created", data, key=key, headers={"n": number})

    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, listener)
        # Written before the relay starts (found by its first round) and while it runs.
        await _create_tables(db)
        await write(range(per_key // 2))
        await open_all(stack, box)
        await write(range(per_key // 2, per_key))
        total = len(keys) * per_key
        await wait_until(lambda: sum(map(len, seen.values())) >= total, WAIT, "every message")
    assert seen == {key: list(range(per_key)) for key in keys}
    first = headers_seen[0]
    assert isinstance(first[outbox.MESSAGE_ID_HEADER], str)
    assert first[outbox.KEY_HEADER] in keys
    assert "n" in first


async def test_a_message_written_inside_an_open_transaction_waits_for_its_commit(
    schema: str, services: list[str]
) -> None:
    publisher, consumer = unique("pub"), unique("sub")
    services += [publisher, consumer]
    db = database_plugin("gorm", schema_dsn(schema))
    events = broker_plugin(publisher)
    listener = broker_plugin(consumer)
    box = outbox_plugin(db, events, POLL_INTERVAL="50ms")
    seen: list[bytes] = []

    async def record(data: bytes) -> None:
        seen.append(data)

    await listener.subscribe(publisher, "created", record)
    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, listener, box)
        async with db.session() as session:
            await session.execute(text("CREATE TABLE users (name text)"))
            await session.commit()
            await session.execute(text("INSERT INTO users VALUES ('ada')"))
            async with box.transaction(session) as tx:
                message_id = await tx.publish("created", b"ada", key="ada")
            # The session's transaction is still open: a relay round cannot see the row.
            assert await _one_round(db) == 0
            await session.commit()
        await wait_until(lambda: seen == [b"ada"], WAIT, "the message after commit")
    assert len(message_id) == 32


async def test_headers_that_json_cannot_hold_are_refused(schema: str, services: list[str]) -> None:
    publisher = unique("pub")
    services.append(publisher)
    db = database_plugin("pg", schema_dsn(schema))
    events = broker_plugin(publisher)
    box = outbox_plugin(db, events)
    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, box)
        async with db.db().acquire() as conn:
            with pytest.raises(outbox.OutboxMessageError, match="header 'raw' is bytes"):
                async with box.transaction(conn) as tx:
                    await tx.publish("created", b"x", headers={"raw": b"\x00"})
            count = await conn.fetchval("SELECT count(*) FROM lbtoolkit_outbox")
    assert count == 0


async def test_the_outbox_keeps_its_own_migration_version_beside_the_services(
    schema: str, admin: Any, services: list[str], tmp_path: Any
) -> None:
    publisher = unique("pub")
    services.append(publisher)
    (tmp_path / "0005_create_things.up.sql").write_text("CREATE TABLE things (id int);")
    db = database_plugin("pg", schema_dsn(schema), MIGRATIONS_DIR=str(tmp_path))
    events = broker_plugin(publisher)
    box = outbox_plugin(db, events)
    async with AsyncExitStack() as stack:
        await open_all(stack, db, events)
        applied = await db.run_migration()
        await open_all(stack, box)
    assert [m.version for m in applied] == [5]
    user = await admin.fetchval("SELECT version FROM schema_migrations")
    own = await admin.fetchval("SELECT version FROM lbtoolkit_outbox_migrations")
    assert (user, own) == (5, 1)


async def test_the_inbox_runs_a_handler_once_per_message_id(
    schema: str, services: list[str]
) -> None:
    publisher = unique("pub")
    services.append(publisher)
    db = database_plugin("pg", schema_dsn(schema))
    events = broker_plugin(publisher)
    box = outbox_plugin(db, events)
    runs: list[str] = []

    async def handle(delivery: Delivery, conn: Any) -> None:
        runs.append(delivery.event)
        await conn.execute("INSERT INTO effects VALUES ($1)", delivery.data.decode())

    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, box)
        async with db.db().acquire() as conn:
            await conn.execute("CREATE TABLE effects (value text)")
        handler = box.idempotent(handle, consumer="counter")
        first = _delivery("m1", b"one")
        await handler(first)
        await handler(_delivery("m1", b"one", redelivered=True))
        await handler(_delivery("m2", b"two"))
        async with db.db().acquire() as conn:
            effects = [r["value"] for r in await conn.fetch("SELECT value FROM effects")]
    assert runs == ["created", "created"]
    assert sorted(effects) == ["one", "two"]
    assert box.duplicates == 1


async def test_a_failing_handler_leaves_no_inbox_row_so_the_redelivery_runs_it(
    schema: str, services: list[str]
) -> None:
    publisher = unique("pub")
    services.append(publisher)
    db = database_plugin("gorm", schema_dsn(schema))
    events = broker_plugin(publisher)
    box = outbox_plugin(db, events)
    attempts: list[int] = []

    async def handle(delivery: Delivery, session: Any) -> None:
        attempts.append(delivery.attempt)
        await session.execute(text("SELECT 1"))
        if delivery.attempt == 1:
            raise RuntimeError("first try fails")

    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, box)
        handler = box.idempotent(handle, consumer="flaky")
        with pytest.raises(RuntimeError):
            await handler(_delivery("m1", b"x"))
        await handler(_delivery("m1", b"x", attempt=2))
        await handler(_delivery("m1", b"x", attempt=3))
    assert attempts == [1, 2]


async def test_inbox_rows_older_than_the_retention_are_cleaned(
    schema: str, services: list[str], admin: Any
) -> None:
    publisher = unique("pub")
    services.append(publisher)
    db = database_plugin("pg", schema_dsn(schema))
    events = broker_plugin(publisher)
    box = outbox_plugin(db, events, INBOX_RETENTION="1h")

    async def handle(delivery: Delivery, conn: Any) -> None:
        del delivery, conn

    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, box)
        handler = box.idempotent(handle, consumer="c")
        await handler(_delivery("old", b""))
        await handler(_delivery("new", b""))
        await admin.execute(
            "UPDATE lbtoolkit_inbox SET received_at = now() - interval '2 hours' "
            "WHERE message_id = 'old'"
        )
        removed = await box.clean_inbox()
        left = await admin.fetch("SELECT message_id FROM lbtoolkit_inbox")
    assert removed == 1
    assert [r["message_id"] for r in left] == ["new"]


def test_an_out_of_range_variable_is_refused() -> None:
    with pytest.raises(Exception, match="OUTBOX_BATCH_SIZE"):
        outbox.new_test_plugin(environ={"OUTBOX_BATCH_SIZE": "0"})


async def test_the_api_before_start_names_the_plugin() -> None:
    box = outbox.new_test_plugin()
    with pytest.raises(outbox.OutboxStateError, match=r'plugin "outbox" \(outbox\)'):
        await box.clean_inbox()


async def test_a_missing_database_plugin_is_named_by_its_variable() -> None:
    box = outbox.new_test_plugin(environ={"OUTBOX_DATABASE": "pgsql"})
    with pytest.raises(outbox.OutboxDependencyError, match="OUTBOX_DATABASE") as caught:
        await box.pre_start()  # type: ignore[attr-defined]
    assert "'pgsql'" in str(caught.value)


# -- helpers -------------------------------------------------------------------------


def _delivery(
    message_id: str, data: bytes, *, redelivered: bool = False, attempt: int = 1
) -> Delivery:
    headers = {outbox.MESSAGE_ID_HEADER: message_id}
    return Delivery("created", "pub", data, headers, "broker-id", redelivered, attempt)


class _connection:  # noqa: N801 - used as a function in `async with`
    """A gorm session or a pooled asyncpg connection of ``db``."""

    def __init__(self, kind: str, db: Any) -> None:
        self._kind = kind
        self._db = db
        self._context: Any = None

    async def __aenter__(self) -> Any:
        self._context = self._db.session() if self._kind == "gorm" else self._db.db().acquire()
        return await self._context.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(*exc)


async def _publish_then_fail(kind: str, db: Any, box: outbox.OutboxPlugin) -> None:
    async with _connection(kind, db) as conn, box.transaction(conn) as tx:
        await tx.publish("created", b"rolled back", key="u1")
        raise RollbackRequestedError


async def _create_tables(db: Any) -> None:
    """The outbox's tables, as its pre_start creates them, before the plugin starts."""
    conn = await db.connector.connect()
    try:
        await apply_migrations(conn, MIGRATIONS, owner="test", table="lbtoolkit_outbox_migrations")
    finally:
        await conn.close()


async def _one_round(db: Any) -> int:
    """Run one relay round on a connection of its own; return how many it sent."""
    sent: list[str] = []

    async def publish(event: str, data: bytes, headers: Any) -> None:
        del data, headers
        sent.append(event)

    settings = RelaySettings(poll_interval=1, batch_size=10, retry_backoff=1, max_retry_backoff=1)
    relay = Relay(
        owner="test relay",
        connect=db.connector.connect,
        publish=publish,
        settings=settings,
        log=logging.getLogger("test"),
    )
    conn = await db.connector.connect()
    try:
        count, _ = await relay.round(conn)
    finally:
        await conn.close()
    assert count == len(sent)
    return count


async def test_a_row_committed_after_a_newer_row_of_its_key_is_sent_in_a_later_round(
    schema: str,
) -> None:
    db = database_plugin("pg", schema_dsn(schema))
    async with AsyncExitStack() as stack:
        await open_all(stack, db)
        await _create_tables(db)
        box = outbox_plugin(db, None)
        pool = db.db()
        async with pool.acquire() as slow, pool.acquire() as fast:
            slow_tx = slow.transaction()
            await slow_tx.start()
            async with box.transaction(slow) as tx:
                await tx.publish("created", b"older id", key="k")
            async with box.transaction(fast) as tx:
                await tx.publish("created", b"newer id", key="k")
            assert await _one_round(db) == 1
            await slow_tx.commit()
        assert await _one_round(db) == 1
        assert await _one_round(db) == 0


async def test_a_migrations_table_name_that_is_no_plain_identifier_is_refused(
    admin: Any, tmp_path: Any
) -> None:
    with pytest.raises(ValueError, match="not a plain lower-case SQL identifier"):
        await apply_migrations(admin, tmp_path, owner="test", table="x; DROP TABLE y")


async def test_the_writers_trace_travels_with_the_row_to_the_consumer(
    schema: str, services: list[str]
) -> None:
    publisher, consumer = unique("pub"), unique("sub")
    services += [publisher, consumer]
    db = database_plugin("pg", schema_dsn(schema))
    events = broker_plugin(publisher)
    listener = broker_plugin(consumer)
    box = outbox_plugin(db, events, POLL_INTERVAL="100ms")
    received: list[str] = []

    async def record(delivery: Delivery) -> None:
        received.append(str(delivery.headers.get("traceparent", "")))

    await listener.subscribe(publisher, "created", record)
    tracer = TracerProvider().get_tracer("request")
    async with AsyncExitStack() as stack:
        await open_all(stack, db, events, listener, box)
        # The request that writes the message: its span is current in the transaction.
        with tracer.start_as_current_span("POST /v1/users") as request:
            async with _connection("pg", db) as conn, box.transaction(conn) as tx:
                await tx.publish("created", b"u1", key="u1")
        await wait_until(lambda: len(received) >= 1, WAIT, "the message")
    trace_id = format(request.get_span_context().trace_id, "032x")
    [traceparent] = received
    assert traceparent.split("-")[1] == trace_id


async def _rows_left_once_settled(admin: Any) -> int:
    """The outbox's row count once the relay has deleted what the broker confirmed (bounded)."""
    left = 0
    for _ in range(100):
        left = int(await admin.fetchval("SELECT count(*) FROM lbtoolkit_outbox"))
        if left == 0:
            break
        await asyncio.sleep(0.05)
    return left
