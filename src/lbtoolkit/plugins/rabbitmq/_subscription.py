"""One subscription: a durable queue per subscribing service, consumed with manual acks.

The queue ``{subscriber}:{publisher}:{event}`` (see :func:`queue_name`) is bound to the publisher's
exchange with the event as routing key: two services each get every message
(two queues), two replicas of one service share the work (one queue). A
handler that raises sends the message back through the queue with a counter;
past the retry limit it is dead-lettered to ``{queue}.dead-letter``.

A failed message waits out its retry delay on the broker, not in this
process: it is published to a delay queue ``{queue}.delay.{ms}ms`` (one per
distinct delay, since a queue expires messages only at its head) with a
per-message expiration; once expired, the broker dead-letters it back to the
work queue through the default exchange.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aio_pika import ExchangeType
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError

from lbtoolkit.plugins._messaging import Consumer, Delivery, jittered, retry_delay
from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.rabbitmq._delivery import (
    dead_letter_copy,
    delivery_of,
    retries_of,
    retry_copy,
)
from lbtoolkit.plugins.rabbitmq._handlers import Handler
from lbtoolkit.plugins.rabbitmq._lastbackend import (
    EXCHANGE_KIND,
    ROUTING_KEY,
    decode_envelope,
    message_type,
    queue_of,
)

if TYPE_CHECKING:
    from aio_pika.abc import (
        AbstractIncomingMessage,
        AbstractRobustChannel,
        AbstractRobustConnection,
        AbstractRobustExchange,
        AbstractRobustQueue,
    )

__all__ = [
    "RetryPolicy",
    "Subscription",
    "dead_letter_queue",
    "declare_exchange",
    "delay_queue",
    "queue_name",
]

# Bounds the broker calls of stop and of a retry, which otherwise wait for a
# reconnection that may never come.
_CALL_TIMEOUT = 10.0
# What AMQP 0-9-1 (and so pamqp) refuses in a queue name.
# A delay queue is deleted once unused this long beyond three times its delay.
_DELAY_QUEUE_GRACE_MS = 10 * 60 * 1000
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


def delay_queue(queue: str, delay_ms: int) -> str:
    """Where a failed message of ``queue`` waits ``delay_ms`` before coming back."""
    return f"{queue}.delay.{delay_ms}ms"


def delay_queue_arguments(queue: str, delay_ms: int) -> dict[str, object]:
    """Back to ``queue`` once expired; the queue itself goes once unused long enough.

    Derived from the name's parts only, so every replica declares the same
    arguments (RabbitMQ refuses a redeclaration with others). The expiry
    outlives any message in it: jitter at most doubles the delay.
    """
    return {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue,
        "x-expires": 3 * delay_ms + _DELAY_QUEUE_GRACE_MS,
    }


async def declare_exchange(
    channel: AbstractRobustChannel, service: str, *, go_format: bool = False
) -> AbstractRobustExchange:
    """The publisher's exchange: durable, named after the publishing service.

    Topic in the native format; fanout in the Go toolkit's (``WIRE_FORMAT=lastbackend``).
    """
    kind = ExchangeType(EXCHANGE_KIND) if go_format else ExchangeType.TOPIC
    return await channel.declare_exchange(service, kind, durable=True)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed message comes again (seconds), and how many times."""

    limit: int
    first_delay: float
    factor: float
    longest_delay: float
    jitter: float

    def delay_ms(self, attempt: int) -> tuple[int, int]:
        """The step and the jittered delay (ms) after delivery ``attempt`` failed; 0: at once.

        The step names the delay queue; the jittered delay, never shorter, is
        the message's own expiration there.
        """
        base = retry_delay(attempt, self.first_delay, self.factor, self.longest_delay)
        if base <= 0:
            return 0, 0
        step = max(round(base * 1000), 1)
        return step, max(round(jittered(base, self.jitter) * 1000), step)


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
        retry: RetryPolicy,
        consumer: Consumer,
        log: logging.Logger,
        on_unsubscribe: Callable[[Subscription], Awaitable[None]],
        go_format: bool = False,
        route: Callable[[str, str], Subscription | None] | None = None,
    ) -> None:
        self.service = service
        self.event = event
        self.queue = queue
        self._handler = handler
        self._prefetch = prefetch
        self._retry = retry
        self._consumer = consumer
        self._metrics = consumer.metrics(service, event)
        self._log = log
        self._on_unsubscribe = on_unsubscribe
        self._go_format = go_format
        # Go format: which subscription handles a message type arriving on a shared queue.
        self._route = route
        self.message_type = message_type(service, event)
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
        await declare_exchange(channel, self.service, go_format=self._go_format)
        dead = dead_letter_queue(self.queue)
        await channel.declare_queue(dead, durable=True)
        if self._go_format and self.queue == queue_of(self.service):
            # Declared as the Go plugin declares it, or the broker refuses one of the two.
            queue = await channel.declare_queue(self.queue, durable=False, auto_delete=True)
        else:
            # The default exchange ("") routes by queue name, so no extra exchange is needed.
            arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead}
            queue = await channel.declare_queue(self.queue, durable=True, arguments=arguments)
        await queue.bind(self.service, routing_key=ROUTING_KEY if self._go_format else self.event)
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
        task = asyncio.current_task()
        running = self._running
        if task is not None:
            running.add(task)
        try:
            if self._go_format:
                await self._on_go_message(message)
            else:
                event = message.type or self.event
                scope = self._consumer.scope()
                await self._process(message, delivery_of(message, self.service, event, scope))
        finally:
            if task is not None:
                running.discard(task)

    async def _on_go_message(self, message: AbstractIncomingMessage) -> None:
        kind = message.type or ""
        if kind != self.message_type:
            other = self._route(self.queue, kind) if self._route is not None else None
            if other is None:
                # As the Go plugin does: a type nobody here handles is dropped.
                self._log.debug("%r: no handler for type %r; dropped", self, kind)
                await self._settle(message.ack(), message)
                return
            await other.process_routed(message)
            return
        await self.process_routed(message)

    async def process_routed(self, message: AbstractIncomingMessage) -> None:
        """Handle a Go-format message of this subscription's type, from any consumer."""
        try:
            event, data = decode_envelope(message.body)
        except ValueError as error:
            reason = f"not the Go toolkit's envelope: {error}"
            await self._dead_letter(message, retries_of(message), reason)
            return
        delivery = delivery_of(
            message, self.service, event or self.event, self._consumer.scope(), data
        )
        await self._process(message, delivery)

    async def _process(self, message: AbstractIncomingMessage, delivery: Delivery) -> None:
        metrics = self._metrics
        if self._consumer.expired(delivery, metrics):
            reason = "its producer's deadline passed before the handler started"
            await self._dead_letter(message, delivery.attempt - 1, reason)
            return
        error = await self._consumer.handle(self._handler, delivery, metrics, self.queue)
        if error is None:
            await self._settle(message.ack(), message)
            return
        self._log.error(
            "%r: handler failed on message %s (attempt %d of %d)",
            self,
            delivery.message_id,
            delivery.attempt,
            self._retry.limit + 1,
            exc_info=error,
        )
        await self._after_failure(message, delivery.attempt, describe(error))

    async def _after_failure(
        self, message: AbstractIncomingMessage, attempt: int, error: str
    ) -> None:
        if attempt > self._retry.limit:
            await self._dead_letter(message, attempt, error)
            return
        step, delay = self._retry.delay_ms(attempt)
        channel = self._channel
        if channel is None:  # not declared: nothing consumed, nothing to retry
            return
        try:
            async with asyncio.timeout(_CALL_TIMEOUT):
                target = self.queue
                if step:
                    target = delay_queue(self.queue, step)
                    # Declared each time: that keeps an idle delay queue from expiring.
                    await channel.declare_queue(
                        target, durable=True, arguments=delay_queue_arguments(self.queue, step)
                    )
                copy = retry_copy(message, attempt, error, delay if step else None)
                await channel.default_exchange.publish(copy, routing_key=target, mandatory=True)
        except (*CONNECTION_EXCEPTIONS, DeliveryError, TimeoutError) as failure:
            # The counter is lost with the copy, but the message itself is not.
            self._log.warning(
                "%r: retry of %s not queued (%s); requeued", self, message.message_id, failure
            )
            await self._settle(message.nack(requeue=True), message)
            return
        await self._settle(message.ack(), message)

    async def _dead_letter(
        self, message: AbstractIncomingMessage, attempts: int, reason: str
    ) -> None:
        dead = dead_letter_queue(self.queue)
        channel = self._channel
        if channel is None:  # not declared: nothing consumed, nothing to give up
            return
        try:
            async with asyncio.timeout(_CALL_TIMEOUT):
                await channel.default_exchange.publish(
                    dead_letter_copy(message, attempts, reason), routing_key=dead, mandatory=True
                )
        except (*CONNECTION_EXCEPTIONS, DeliveryError, TimeoutError) as failure:
            # The queue's own dead-lettering still keeps it, without the reason.
            self._log.warning(
                "%r: dead letter of %s not published (%s)", self, message.message_id, failure
            )
            await self._settle(message.nack(requeue=False), message)
            return
        self._log.error(
            "%r: giving up on message %s after %d attempt(s): %s; it is kept in %r",
            self,
            message.message_id,
            attempts,
            reason,
            dead,
        )
        await self._settle(message.ack(), message)

    async def _settle(self, action: Awaitable[None], message: AbstractIncomingMessage) -> None:
        try:
            await action
        except CONNECTION_EXCEPTIONS as error:
            # The channel went away with the delivery: the broker delivers it again.
            self._log.debug("%r: settling %s failed: %s", self, message.message_id, error)
