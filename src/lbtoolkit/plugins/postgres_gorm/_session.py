"""A request-scoped ``AsyncSession`` for handlers, through dependency injection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from lbtoolkit import Scope

if TYPE_CHECKING:
    from lbtoolkit import Service

__all__ = ["provide_session"]

SessionFactory = Callable[..., AsyncIterator[AsyncSession]]


def provide_session(app: Service, plugin: Any, *, provides: Any = AsyncSession) -> None:
    """Make ``provides`` (default ``AsyncSession``) injectable, one session per request.

    ``plugin`` is the type the plugin is registered under (the generated
    ``PgsqlPlugin`` protocol) or the plugin instance itself. With two
    databases, give each its own key: ``UsersSession = NewType("UsersSession",
    AsyncSession)`` and ``provide_session(app, UsersDbPlugin, provides=UsersSession)``.

    The session is closed when the request ends; it never commits by itself
    (a handler calls ``await session.commit()``), so work a handler did not
    commit is rolled back.
    """
    factory = _from_key(plugin, provides) if isinstance(plugin, type) else _from_instance(plugin)
    app.provide(factory, provides=provides, scope=Scope.REQUEST)


def _from_key(key: type[Any], provides: Any) -> SessionFactory:
    """A factory that asks the container for the plugin registered under ``key``."""

    async def request_session(db: Any) -> AsyncIterator[AsyncSession]:
        async with db.session() as session:
            yield session

    # The dependency's type is only known now; dishka reads it from here.
    request_session.__annotations__ = {"db": key, "return": AsyncIterator[provides]}
    return request_session


def _from_instance(plugin: Any) -> SessionFactory:
    async def request_session() -> AsyncIterator[AsyncSession]:
        async with plugin.session() as session:
            yield session

    return request_session
