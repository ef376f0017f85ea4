"""What the node asks the service: who connects, who may subscribe or publish."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from lbtoolkit.plugins.centrifuge._session import Client

__all__ = [
    "ConnectHandler",
    "ConnectRequest",
    "DisconnectHandler",
    "Hooks",
    "JSONValue",
    "PublishHandler",
    "SubscribeHandler",
    "call",
]

T = TypeVar("T")

JSONValue: TypeAlias = (
    Mapping[str, "JSONValue"] | Sequence["JSONValue"] | str | int | float | bool | None
)


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """A client's connect command, with the HTTP headers of its WebSocket handshake.

    ``token`` and ``data`` are what the client sent; ``headers`` carry cookies,
    ``Authorization`` and ``Origin`` for the hook to check.
    """

    client_id: str
    token: str
    data: Any
    headers: Mapping[str, str]


ConnectHandler: TypeAlias = Callable[[ConnectRequest], Awaitable[str | None] | str | None]
"""Return the user id (``""`` for an anonymous user) to accept, ``None`` to refuse."""

SubscribeHandler: TypeAlias = Callable[[Client, str], Awaitable[bool] | bool]
"""Return whether ``client`` may subscribe to the channel."""

PublishHandler: TypeAlias = Callable[[Client, str, Any], Awaitable[bool] | bool]
"""Return whether ``client`` may publish the data to the channel."""

DisconnectHandler: TypeAlias = Callable[[Client, int, str], Awaitable[None] | None]
"""Told the close code and reason once a connected client is gone."""


@dataclass(slots=True)
class Hooks:
    """The handlers a node calls; ``None`` means the default.

    Defaults: every connection is accepted as an anonymous user, every
    subscription is allowed, and clients may not publish.
    """

    connect: ConnectHandler | None = None
    subscribe: SubscribeHandler | None = None
    publish: PublishHandler | None = None
    disconnect: DisconnectHandler | None = None


async def call(handler: Callable[..., Awaitable[T] | T], *args: object) -> T:
    """Call a handler that may be a plain function or a coroutine function."""
    result = handler(*args)
    if inspect.isawaitable(result):
        return await result
    return result
