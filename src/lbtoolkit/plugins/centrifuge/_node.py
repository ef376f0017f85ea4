"""The real-time node: WebSocket clients, channels, publications."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import TYPE_CHECKING, TypeVar

from redis.exceptions import RedisError
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from lbtoolkit.plugins.centrifuge._broker import Broker, LocalBroker, RedisBroker, RedisSettings
from lbtoolkit.plugins.centrifuge._conversation import Conversation
from lbtoolkit.plugins.centrifuge._errors import (
    CentrifugePublishError,
    CentrifugeStateError,
    CentrifugeValueError,
)
from lbtoolkit.plugins.centrifuge._hooks import (
    ConnectHandler,
    DisconnectHandler,
    Hooks,
    PublishHandler,
    SubscribeHandler,
    call,
)
from lbtoolkit.plugins.centrifuge._hub import Hub
from lbtoolkit.plugins.centrifuge._protocol import SHUTDOWN, check_channel
from lbtoolkit.plugins.centrifuge._session import Session

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from lbtoolkit.plugins.centrifuge._config import Config
    from lbtoolkit.plugins.centrifuge._hooks import JSONValue

__all__ = ["Node"]

log = logging.getLogger("lbtoolkit.plugins.centrifuge")

# Handlers come back unchanged, so the hook setters work as decorators.
OnConnect = TypeVar("OnConnect", bound=ConnectHandler)
OnSubscribe = TypeVar("OnSubscribe", bound=SubscribeHandler)
OnPublish = TypeVar("OnPublish", bound=PublishHandler)
OnDisconnect = TypeVar("OnDisconnect", bound=DisconnectHandler)

# How long closing a connection may wait for a client that does not read.
CLOSE_TIMEOUT = 1.0


class Node:
    """A real-time node inside the service.

    Clients connect over WebSocket to :attr:`route` (mounted on a Starlette
    application), subscribe to channels and receive what :meth:`publish`
    sends. With Redis configured, a publication on any replica reaches the
    subscribers of every replica. Register the hooks (:meth:`on_connect`,
    :meth:`on_subscribe`, :meth:`on_publish`, :meth:`on_disconnect`) while
    the service is built.
    """

    path = "/connection/websocket"
    """Where :attr:`route` serves; ``WebSocketRoute(other, node.serve)`` serves elsewhere."""

    def __init__(self, config: Config, *, prefix: str, redis: RedisSettings | None = None) -> None:
        self.prefix = prefix
        self._config = config
        self._hooks = Hooks()
        self._hub = Hub()
        self._broker: Broker = (
            LocalBroker(self._hub) if redis is None else RedisBroker(self._hub, redis)
        )
        self._running = False
        self._serving: set[asyncio.Task[object]] = set()

    @property
    def route(self) -> WebSocketRoute:
        """The Starlette route serving :attr:`path`, to mount in a Starlette application."""
        return WebSocketRoute(self.path, self.serve, name=f"centrifuge:{self.prefix}")

    @property
    def client_count(self) -> int:
        """Clients connected to this node."""
        return self._hub.session_count

    def subscriber_count(self, channel: str) -> int:
        """Clients of this node subscribed to ``channel``."""
        return self._hub.subscriber_count(channel)

    def on_connect(self, handler: OnConnect) -> OnConnect:
        """Set the connect hook (a :data:`ConnectHandler`); usable as a decorator."""
        self._hooks.connect = handler
        return handler

    def on_subscribe(self, handler: OnSubscribe) -> OnSubscribe:
        """Set the subscribe authorization hook (a :data:`SubscribeHandler`)."""
        self._hooks.subscribe = handler
        return handler

    def on_publish(self, handler: OnPublish) -> OnPublish:
        """Let clients publish where the hook (a :data:`PublishHandler`) allows."""
        self._hooks.publish = handler
        return handler

    def on_disconnect(self, handler: OnDisconnect) -> OnDisconnect:
        """Set the hook told when a connected client is gone (a :data:`DisconnectHandler`)."""
        self._hooks.disconnect = handler
        return handler

    async def publish(self, channel: str, data: bytes | JSONValue) -> None:
        """Send ``data`` to every subscriber of ``channel``, on every replica.

        ``bytes`` must be JSON text; anything else is encoded as JSON. Raises
        ``CentrifugeValueError`` for a bad channel or data,
        ``CentrifugeStateError`` before start, ``CentrifugePublishError`` when
        Redis fails.
        """
        problem = check_channel(channel)
        if problem is not None:
            raise CentrifugeValueError(self.prefix, str(channel), problem)
        payload = _encode(self.prefix, channel, data)
        if not self._running:
            raise CentrifugeStateError(self.prefix, f"publish to {channel!r}")
        try:
            await self._broker.publish(channel, payload)
        except (RedisError, OSError) as error:
            raise CentrifugePublishError(self.prefix, channel, str(error)) from error

    async def start(self) -> None:
        """Connect the broker and accept clients (the plugin's ``pre_start`` calls it)."""
        if self._running:
            return
        await self._broker.start()
        self._running = True

    async def stop(self) -> None:
        """Close every client (code 3001) and the broker (the plugin's ``on_stop`` calls it)."""
        self._running = False
        self._hub.close_all(SHUTDOWN)
        if self._serving:
            await asyncio.wait(self._serving, timeout=2 * CLOSE_TIMEOUT)
        await self._broker.stop()

    async def check(self) -> None:
        """Raise unless the node runs and, with Redis, its subscription is healthy."""
        if not self._running:
            raise CentrifugeStateError(self.prefix, "serve clients")
        await self._broker.check()

    async def asgi_endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as a plain ASGI application, for servers that mount ASGI apps."""
        if scope["type"] != "websocket":
            response = PlainTextResponse("this endpoint speaks WebSocket only", status_code=426)
            await response(scope, receive, send)
            return
        await self.serve(WebSocket(scope, receive, send))

    async def serve(self, websocket: WebSocket) -> None:
        """Serve one WebSocket connection until it ends (the route's endpoint)."""
        if not self._running:
            # Refused before the handshake: the client sees HTTP 403.
            await websocket.close(code=1013)
            return
        await websocket.accept()
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        session = Session(websocket, uuid.uuid4().hex, self._config.client_queue_max_size)
        self._hub.add(session)
        conversation = Conversation(
            session,
            hub=self._hub,
            hooks=self._hooks,
            publish=self.publish,
            channel_limit=self._config.client_channel_limit,
            connect_timeout=self._config.connect_timeout.total_seconds(),
        )
        tasks = [asyncio.create_task(conversation.run()), asyncio.create_task(session.write_loop())]
        try:
            await session.wait_closed()
        finally:
            self._hub.remove(session)
            for each in tasks:
                each.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await _close(session)
            await self._notify(session)
            if task is not None:
                self._serving.discard(task)

    async def _notify(self, session: Session) -> None:
        handler = self._hooks.disconnect
        if handler is None or session.client is None or session.disconnect is None:
            return
        try:
            await call(handler, session.client, session.disconnect.code, session.disconnect.reason)
        except Exception:
            log.exception("client %s: the disconnect hook failed", session.id)


async def _close(session: Session) -> None:
    """Send the close frame, unless the peer left first; never wait long for it.

    A slow client's socket is full, so its close frame may never go out: after
    CLOSE_TIMEOUT the server closes the transport, whose buffer is bounded.
    """
    disconnect = session.disconnect
    if disconnect is None or disconnect.code < 3000:  # noqa: PLR2004 - below 3000: from the peer
        return
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await session.websocket.close(code=disconnect.code, reason=disconnect.reason)
    except (TimeoutError, WebSocketDisconnect, OSError, RuntimeError):
        log.debug("client %s: close frame not sent", session.id)


def _encode(prefix: str, channel: str, data: object) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        payload = bytes(data)
        try:
            json.loads(payload)
        except ValueError as error:
            raise CentrifugeValueError(prefix, channel, f"data is not JSON text: {error}") from None
        return payload
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise CentrifugeValueError(
            prefix, channel, f"data is not JSON-serializable: {error}"
        ) from None
