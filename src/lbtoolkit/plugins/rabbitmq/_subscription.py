"""One subscription: a durable queue per subscribing service, consumed with manual acks.

The queue ``{subscriber}:{publisher}:{event}`` (see :func:`queue_name`) is bound to the publisher's
exchange with the event as routing key: two services each get every message
(two queues), two replicas of one service share the work (one queue). A
handler that raises sends the message back through the queue with a counter;
past the retry limit it is dead-lettered to ``{queue}.dead-letter``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aio_pika import ExchangeType
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

from lbtoolkit.plugins.rabbitmq._delivery import delivery_of, retries_of, retry_copy
from lbtoolkit.plugins.rabbitmq._handlers import Handler

if TYPE_CHECKING:
    from aio_pika.abc import (
        AbstractIncomingMessage,
        AbstractRobustChannel,
        AbstractRobustConnection,
        AbstractRobustExchange,
        AbstractRobustQueue,
    )

__all__ = ["Subscription", "dead_letter_queue", "declare_exchange", "queue_name"]

# Bounds the broker calls of stop and of a retry, which otherwise wait for a
# reconnection that may never come.
_CALL_TIMEOUT = 10.0
# What AMQP 0-9-1 (and so pamqp) refuses in a queue name.
_NOT_IN_QUEUE_NAMES = re.compile(r"[^a-zA-Z0-9\-_.:@#,/+ ]")


def queue_name(subscriber: str, service: str, event: str) -> str:
    """``{subscriber}:{service}:{event}``, in the characters AMQP allows in a queue name.

    A topic pattern's ``*`` becomes ``+``; any other character AMQP refuses becomes ``_``.
    """
    name = f"{subscriber}:{service}:{event}".replace("*", "+")
    return _NOT_IN_QUEUE_NAMES.sub("_", name)


def dead_letter_queue(queue: str) -> str:
    """Where messages go once their handler failed past the retry limit."""
    return f"{queue}.dead-letter"


async def declare_exchange(channel: AbstractRobustChannel, service: str) -> AbstractRobustExchange:
    """The publisher's exchange: durable, topic, named after the publishing service."""
    return await channel.declare_exchange(service, ExchangeType.TOPIC, durable=True)


class Subscription:
    """A handler bound to one event of one publishing service.

    Returned by ``subscribe``; ``unsubscribe()`` stops consuming (the queue
    stays, so messages published meanwhile wait for the next consumer).
    """

    def __init__(
        self,
        *,
        service: str,
        event: str,
        queue: str,
        handler: Handler,
        prefetch: int,
        retry_limit: int,
        log: logging.Logger,
        on_unsubscribe: Callable[[Subscription], Awaitable[None]],
    ) -> None:
        self.service = service
        self.event = event
        self.queue = queue
        self._handler = handler
        self._prefetch = prefetch
        self._retry_limit = retry_limit
        self._log = log
        self._on_unsubscribe = on_unsubscribe
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractRobustQueue | None = None
        self._tag: str | None = None
        self._running: set[asyncio.Task[object]] = set()

    def __repr__(self) -> str:
        return f"<Subscription {self.service}/{self.event} via {self.queue!r}>"

    @property
    def consuming(self) -> bool:
        """Whether messages are being taken from the queue."""
        return self._tag is not None

    async def declare(self, connection: AbstractRobustConnection) -> None:
        """Declare exchange, queues and binding on a channel of its own.

        The robust channel re-declares all of it, and the consumer, after a
        reconnection.
        """
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        await declare_exchange(channel, self.service)
        dead = dead_letter_queue(self.queue)
        await channel.declare_queue(dead, durable=True)
        # The default exchange ("") routes by queue name, so no extra exchange is needed.
        arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead}
        queue = await channel.declare_queue(self.queue, durable=True, arguments=arguments)
        await queue.bind(self.service, routing_key=self.event)
        self._channel, self._queue = channel, queue

    async def start(self) -> None:
        """Start consuming (once declared)."""
        if self._queue is not None and self._tag is None:
            self._tag = await self._queue.consume(self._on_message)

    async def unsubscribe(self) -> None:
        """Stop taking messages and wait for the running handlers."""
        await self.stop(_CALL_TIMEOUT)
        await self._on_unsubscribe(self)

    async def stop(self, drain_timeout: float, *, cancel: bool = True) -> None:
        """Cancel the consumer, then wait up to ``drain_timeout`` for running handlers."""
        queue, tag, self._tag = self._queue, self._tag, None
        if queue is not None and tag is not None and cancel:
            try:
                # The timeout also bounds the wait for a lost connection to return.
                async with asyncio.timeout(_CALL_TIMEOUT):
                    await queue.cancel(tag)
            except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
                self._log.debug("%r: cancelling the consumer failed: %s", self, error)
        running = set(self._running)
        if running:
            _, pending = await asyncio.wait(running, timeout=drain_timeout)
            if pending:
                self._log.warning(
                    "%r: %d handler(s) still running after %gs; their messages will be "
                    "delivered again",
                    self,
                    len(pending),
                    drain_timeout,
                )

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Written out in one frame: this runs for every message.
        task = asyncio.current_task()
        running = self._running
        if task is not None:
            running.add(task)
        try:
            delivery = delivery_of(message, self.service, self.event)
            try:
                await self._handler(delivery)
            except Exception:  # noqa: BLE001 - any handler error means "not processed"
                self._log.exception(
                    "%r: handler failed on message %s (attempt %d of %d)",
                    self,
                    delivery.message_id,
                    delivery.attempt,
                    self._retry_limit + 1,
                )
                await self._after_failure(message)
                return
            await self._settle(message.ack(), message)
        finally:
            if task is not None:
                running.discard(task)

    async def _after_failure(self, message: AbstractIncomingMessage) -> None:
        retries = retries_of(message)
        if retries >= self._retry_limit:
            self._log.error(
                "%r: giving up on message %s after %d attempt(s); it is kept in %r",
                self,
                message.message_id,
                retries + 1,
                dead_letter_queue(self.queue),
            )
            await self._settle(message.nack(requeue=False), message)
            return
        channel = self._channel
        try:
            if channel is None:
                raise RuntimeError("no channel")
            async with asyncio.timeout(_CALL_TIMEOUT):
                await channel.default_exchange.publish(
                    retry_copy(message, retries + 1), routing_key=self.queue, mandatory=False
                )
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
            # The counter is lost with the copy, but the message itself is not.
            self._log.warning(
                "%r: retry of %s not queued (%s); requeued", self, message.message_id, error
            )
            await self._settle(message.nack(requeue=True), message)
            return
        await self._settle(message.ack(), message)

    async def _settle(self, action: Awaitable[None], message: AbstractIncomingMessage) -> None:
        try:
            await action
        except CONNECTION_EXCEPTIONS as error:
            # The channel went away with the delivery: the broker delivers it again.
            self._log.debug("%r: settling %s failed: %s", self, message.message_id, error)
