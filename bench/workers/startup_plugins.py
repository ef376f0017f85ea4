"""The plugins of the start-up scenario: no-op ones, and real ones on the local servers."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from lbtoolkit.config import env

if TYPE_CHECKING:
    from collections.abc import Callable

    from lbtoolkit import Runtime, Service

__all__ = [
    "KINDS",
    "add_connecting",
    "add_noop",
    "connection_environ",
    "prefixes",
    "set_connection_environ",
]

# Connecting plugins rotate over these, so N plugins touch every local server.
KINDS = ("redis", "postgres_pgx", "rabbitmq", "postgres_gorm")


def prefixes(count: int) -> list[tuple[str, str]]:
    """``(kind, prefix)`` of the ``count`` connecting plugins."""
    return [(KINDS[i % len(KINDS)], f"{KINDS[i % len(KINDS)]}{i}") for i in range(count)]


class NoopConfig(BaseModel):
    """Three variables, as a small plugin has."""

    host: str = env("HOST", default="localhost", comment="Server host")
    port: int = env("PORT", default=1234, comment="Server port")
    timeout: timedelta = env("TIMEOUT", default="5s", comment="Connect timeout")


class NoopPlugin:
    """Parses its config like any plugin; its hooks do nothing."""

    def __init__(self, runtime: Runtime, prefix: str) -> None:
        self.config = runtime.config.parse(NoopConfig, prefix, owner=f'plugin "{prefix}" (noop)')

    async def pre_start(self) -> None:
        return None

    async def on_stop(self) -> None:
        return None


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


def _provide(app: Service, prefix: str, plugin: object) -> None:
    # As generated code does: the instance under a Protocol type of its own.
    key = type(f"{prefix.title()}Plugin", (), {})
    app.runtime.plugin.provide(_constant(plugin), provides=key)


def add_noop(app: Service, count: int) -> None:
    for i in range(count):
        prefix = f"noop{i}"
        _provide(app, prefix, NoopPlugin(app.runtime, prefix))


def connection_environ(env_prefix: str, count: int) -> dict[str, str]:
    """Variables pointing the connecting plugins at the local servers."""
    values = {
        "redis": {"ADDR": "127.0.0.1:6379"},
        "postgres_pgx": {"HOST": "127.0.0.1", "USERNAME": "postgres", "DATABASE": "test"},
        "postgres_gorm": {"HOST": "127.0.0.1", "USERNAME": "postgres", "DATABASE": "test"},
        "rabbitmq": {"HOST": "127.0.0.1"},
    }
    return {
        f"{env_prefix}_{prefix}_{name}".upper(): value
        for kind, prefix in prefixes(count)
        for name, value in values[kind].items()
    }


def add_connecting(app: Service, count: int) -> None:
    from lbtoolkit.plugins import (  # noqa: PLC0415 - only services with plugins load them
        postgres_gorm,
        postgres_pgx,
        rabbitmq,
        redis,
    )

    builders: dict[str, Callable[[Runtime, str], Any]] = {
        "redis": lambda rt, p: redis.new_plugin(rt, redis.Options(name=p)),
        "postgres_pgx": lambda rt, p: postgres_pgx.new_plugin(rt, postgres_pgx.Options(name=p)),
        "rabbitmq": lambda rt, p: rabbitmq.new_plugin(rt, rabbitmq.Options(name=p)),
        "postgres_gorm": lambda rt, p: postgres_gorm.new_plugin(rt, postgres_gorm.Options(name=p)),
    }
    for kind, prefix in prefixes(count):
        _provide(app, prefix, builders[kind](app.runtime, prefix))


def set_connection_environ(env_prefix: str, count: int) -> None:
    os.environ.update(connection_environ(env_prefix, count))
