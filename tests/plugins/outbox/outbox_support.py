"""Helpers of the outbox tests: a scratch schema, the plugins wired together, waiting."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, cast

from lbtoolkit.plugins import outbox, postgres_gorm, postgres_pg, rabbitmq
from lbtoolkit.testing import new_test_runtime, open_plugin

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"
BROKER = "amqp://guest:guest@127.0.0.1:5672/"


def schema_dsn(schema: str) -> str:
    """A DSN of the ``test`` database whose connections work in ``schema`` (search_path)."""
    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{PG_DATABASE}?search_path={schema}"


def unique(label: str) -> str:
    return f"lbt_ob_{label}_{uuid.uuid4().hex[:10]}"


def database_plugin(kind: str, dsn: str, **variables: str) -> Any:
    """A postgres_pg or postgres_gorm plugin (prefix ``db``) on ``dsn``."""
    environ = {"DB_DSN": dsn, "DB_MAX_CONNECTIONS": "20"}
    environ.update({f"DB_{name}": value for name, value in variables.items()})
    module: Any = postgres_pg if kind == "pg" else postgres_gorm
    return module.new_test_plugin(module.Options(name="db"), environ=environ)


def broker_plugin(service: str, url: str = BROKER, **variables: str) -> rabbitmq.RabbitMQPlugin:
    """A RabbitMQ plugin (prefix ``events``) of service ``service``."""
    environ = {"EVENTS_DSN": url, **{f"EVENTS_{k}": v for k, v in variables.items()}}
    runtime = new_test_runtime(service, environ=environ)
    plugin = rabbitmq.new_plugin(runtime, rabbitmq.Options("events"))
    runtime.config.raise_for_issues()
    return cast("rabbitmq.RabbitMQPlugin", plugin)


def outbox_plugin(database: Any, broker: Any, **variables: str) -> outbox.OutboxPlugin:
    """The outbox on ``database`` and ``broker``, with ``OUTBOX_*`` variables."""
    environ = {f"OUTBOX_{k}": v for k, v in variables.items()}
    options = outbox.Options(database=database, broker=broker)
    return cast("outbox.OutboxPlugin", outbox.new_test_plugin(options, environ=environ))


async def open_all(stack: AsyncExitStack, *plugins: object) -> None:
    """Start ``plugins`` in order; the stack stops them in reverse."""
    for plugin in plugins:
        await stack.enter_async_context(open_plugin(plugin))


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait (bounded) until ``condition()``; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
