"""The outbox in a service built as generated code builds it: found by prefix, started last."""

from __future__ import annotations

from typing import Any, Protocol

import pytest
from tests.plugins.outbox.outbox_support import (
    BROKER,
    broker_plugin,
    schema_dsn,
    unique,
    wait_until,
)

import lbtoolkit
from lbtoolkit.plugins import outbox, postgres_pg, rabbitmq
from lbtoolkit.plugins.rabbitmq import Delivery
from lbtoolkit.runtime import StartError
from lbtoolkit.testing import open_plugin


class DbPlugin(postgres_pg.Plugin, Protocol):
    """As generated for ``{prefix: "db" plugin: "postgres_pg"}``."""


class EventsPlugin(rabbitmq.Plugin, Protocol):
    """As generated for ``{prefix: "events" plugin: "rabbitmq"}``."""


class OutboxPlugin(outbox.Plugin, Protocol):
    """As generated for ``{prefix: "outbox" plugin: "outbox"}``."""


def _service(name: str, schema: str, **variables: str) -> tuple[lbtoolkit.Service, Any, Any]:
    environ = {
        "SVC_DB_DSN": schema_dsn(schema),
        "SVC_EVENTS_DSN": BROKER,
        "SVC_OUTBOX_DATABASE": "db",
        "SVC_OUTBOX_BROKER": "events",
        "SVC_OUTBOX_POLL_INTERVAL": "100ms",
        **{f"SVC_{key}": value for key, value in variables.items()},
    }
    app = lbtoolkit.new_service(name, env_prefix="SVC", environ=environ, argv=[])
    # Declared first on purpose: its dependencies, not the order, put it last.
    box = outbox.new_plugin(app.runtime, outbox.Options(name="outbox"))
    db = postgres_pg.new_plugin(app.runtime, postgres_pg.Options(name="db"))
    events = rabbitmq.new_plugin(app.runtime, rabbitmq.Options(name="events"))
    app.runtime.plugin.provide_value(box, provides=OutboxPlugin, name="outbox")
    app.runtime.plugin.provide_value(db, provides=DbPlugin, name="db")
    app.runtime.plugin.provide_value(events, provides=EventsPlugin, name="events")
    return app, box, db


async def test_a_service_finds_its_plugins_by_prefix_and_starts_the_outbox_after_them(
    schema: str, services: list[str]
) -> None:
    name, consumer = unique("svc"), unique("sub")
    services += [name, consumer]
    app, box, db = _service(name, schema)
    listener = broker_plugin(consumer)
    seen: list[bytes] = []

    async def record(delivery: Delivery) -> None:
        seen.append(delivery.data)

    await listener.subscribe(name, "created", record)
    async with open_plugin(listener):
        await app.start()
        try:
            waves = [[c.owner for c in wave] for wave in app.runtime.plugin.waves]
            async with db.db().acquire() as conn, box.transaction(conn) as tx:
                await tx.publish("created", b"hello", key="k")
            await wait_until(lambda: seen == [b"hello"], 30, "the message")
        finally:
            await app.stop()
    assert waves == [['plugin "db"', 'plugin "events"'], ['plugin "outbox"']]


async def test_a_prefix_that_names_no_plugin_fails_the_start_naming_the_variable(
    schema: str, services: list[str]
) -> None:
    name = unique("svc")
    services.append(name)
    app, _, _ = _service(name, schema, OUTBOX_BROKER="queue")
    with pytest.raises(StartError) as caught:
        await app.start()
    cause = caught.value.__cause__
    assert isinstance(cause, outbox.OutboxDependencyError)
    assert cause.variable == "SVC_OUTBOX_BROKER"
    assert "'queue'" in str(cause)
    assert 'plugin "events"' in str(cause)
