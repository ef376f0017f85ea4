"""Brokers carry publications to the nodes that have subscribers.

Without Redis the node delivers to its own clients. With Redis every node
pattern-subscribes to ``{prefix}.*`` once, at start, and a publication goes
to ``PUBLISH {prefix}.{channel}``: every replica receives it and delivers it
to its own subscribers, the publishing replica included, so all replicas see
publications in the same order. Every replica receives every publication of
the prefix (those without local subscribers are dropped); nothing is stored,
so what is published while a replica is cut off from Redis is lost to it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

    from lbtoolkit.plugins.centrifuge._hub import Hub

__all__ = ["Broker", "LocalBroker", "RedisBroker", "RedisSettings"]

log = logging.getLogger("lbtoolkit.plugins.centrifuge")

# Redis timeouts of the broker's own connections, in seconds.
_DIAL_TIMEOUT = 5.0
_COMMAND_TIMEOUT = 5.0
_RETRY_MIN, _RETRY_MAX = 0.1, 5.0


class Broker(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, channel: str, data: bytes) -> None: ...

    async def check(self) -> None: ...


class LocalBroker:
    """Publications stay on this node."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, channel: str, data: bytes) -> None:
        self._hub.deliver(channel, data)

    async def check(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Where the Redis broker connects, and the prefix of its pub/sub channels."""

    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    client_name: str
    channel_prefix: str


class RedisBroker:
    """Publications go through Redis pub/sub to every node of the prefix."""

    def __init__(self, hub: Hub, settings: RedisSettings) -> None:
        self._hub = hub
        self._settings = settings
        self._prefix = settings.channel_prefix + "."
        self._client: Redis | None = None
        self._reader: asyncio.Task[None] | None = None
        # Why the subscription is down; None while Redis confirms it.
        self._failure: str | None = None

    async def start(self) -> None:
        """Connect, subscribe and wait for Redis to confirm, so no publication is missed."""
        s = self._settings
        client = Redis(
            host=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            client_name=s.client_name,
            socket_connect_timeout=_DIAL_TIMEOUT,
            socket_timeout=_COMMAND_TIMEOUT,
            # One immediate retry replaces a pooled connection the server
            # dropped; more would hide an outage from the subscription loop,
            # which has to see it to know its subscription is gone.
            retry=Retry(NoBackoff(), 1),
        )
        pubsub = client.pubsub()
        try:
            await client.ping()
            await pubsub.psubscribe(_escape(self._prefix) + "*")
            async with asyncio.timeout(_COMMAND_TIMEOUT):
                _expect_subscribed(await pubsub.get_message(timeout=None))
        except BaseException:
            await _close_pubsub(pubsub)
            await client.aclose()
            raise
        self._client = client
        self._reader = asyncio.create_task(self._read(pubsub), name="centrifuge redis reader")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def publish(self, channel: str, data: bytes) -> None:
        if self._client is None:
            raise RedisError("the broker is not started")
        await self._client.publish(self._prefix + channel, data)

    async def check(self) -> None:
        """Healthy when Redis answers and the subscription is being read."""
        if self._client is None or self._reader is None or self._reader.done():
            raise RedisError("the Redis subscription is not running")
        if self._failure is not None:
            raise RedisError(f"the Redis subscription is down: {self._failure}")
        await self._client.ping()

    async def _read(self, pubsub: PubSub) -> None:
        # After an error redis-py reconnects on the next read and subscribes
        # again; the subscription counts as up once Redis confirms that.
        delay = _RETRY_MIN
        try:
            while True:
                try:
                    message = await pubsub.get_message(timeout=None)
                except (RedisError, OSError) as error:
                    self._failure = str(error) or type(error).__name__
                    log.warning("Redis subscription down, retrying in %.1fs: %s", delay, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_MAX)
                    continue
                kind = message.get("type") if message else None
                if kind == "pmessage":
                    self._dispatch(message["channel"], message["data"])
                elif kind == "psubscribe":
                    self._failure = None
                    delay = _RETRY_MIN
        finally:
            await _close_pubsub(pubsub)

    def _dispatch(self, redis_channel: bytes, data: bytes) -> None:
        try:
            channel = redis_channel.decode()[len(self._prefix) :]
        except UnicodeDecodeError:
            return
        self._hub.deliver(channel, data)


def _expect_subscribed(answer: object) -> None:
    if not isinstance(answer, dict) or answer.get("type") != "psubscribe":
        raise RedisError(f"unexpected answer to PSUBSCRIBE: {answer!r}")


async def _close_pubsub(pubsub: PubSub) -> None:
    await pubsub.aclose()


def _escape(text: str) -> str:
    """Quote glob characters so the pattern matches ``text`` literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
