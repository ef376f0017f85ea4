"""One driver per broker for the contract suite: build plugins, read dead letters, clean up.

Each test gets unique service names (so unique exchanges and queues on the
shared RabbitMQ, unique streams on the shared NATS), and the driver deletes
everything those names created when the test ends.
"""

from __future__ import annotations

import contextlib
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

import aio_pika
import aio_pika.exceptions
import nats
import nats.errors
import nats.js.errors

from lbtoolkit.plugins import nats as nats_plugin
from lbtoolkit.plugins import rabbitmq
from lbtoolkit.plugins.nats._wire import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    consumer_name,
    dead_letter_stream,
    stream_name,
)
from lbtoolkit.plugins.rabbitmq._delivery import ATTEMPTS_HEADER as RABBITMQ_ATTEMPTS_HEADER
from lbtoolkit.plugins.rabbitmq._delivery import ERROR_HEADER as RABBITMQ_ERROR_HEADER
from lbtoolkit.plugins.rabbitmq._subscription import dead_letter_queue, delay_queue, queue_name
from lbtoolkit.testing import new_test_runtime

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from lbtoolkit.plugins._messaging import Handler, HeaderValue
    from lbtoolkit.runtime import Runtime

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
NATS = "nats://127.0.0.1:4222"
# Retries come fast in these tests: the delay is the broker's business, not the contract's.
_NATS_FAST = {"RETRY_DELAY": "20ms", "MAX_DELAY": "100ms", "BACKOFF": "2"}
_RABBITMQ_FAST = {"RETRY_DELAY": "20ms", "RETRY_MAX_DELAY": "100ms", "BACKOFF": "2"}


class Subscription(Protocol):
    """What both plugins' ``subscribe`` returns."""

    service: str
    event: str
    queue: str

    @property
    def consuming(self) -> bool: ...

    async def unsubscribe(self) -> None: ...


class Messaging(Protocol):
    """What the contract calls: the face both plugins share, so services can switch."""

    async def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> None: ...

    async def subscribe(
        self,
        service: str,
        event: str,
        handler: Handler,
        *,
        queue: str | None = None,
        prefetch: int | None = None,
    ) -> Subscription: ...

    async def health_check(self) -> None: ...

    async def pre_start(self) -> None: ...

    async def on_start(self) -> None: ...

    async def on_stop(self) -> None: ...


@dataclass(frozen=True)
class DeadLetter:
    """A message a subscriber gave up on, as the broker keeps it."""

    data: bytes
    headers: Mapping[str, object]
    attempts: int
    error: str | None


@dataclass
class Broker(ABC):
    """A broker under contract: ``make`` builds plugins of services unique to the test."""

    name: str
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    services: set[str] = field(default_factory=set)

    def service(self, role: str) -> str:
        """A service name unique to this test."""
        found = f"t-{self.tag}-{role}"
        self.services.add(found)
        return found

    @abstractmethod
    def make(
        self,
        service: str,
        *,
        attempts: int = 4,
        prefetch: int = 1,
        setup: Callable[[Runtime], None] | None = None,
    ) -> Messaging:
        """The plugin of ``service``: a handler runs at most ``attempts`` times per message.

        ``setup`` gets the service's runtime before the plugin is built (to
        register dependencies, choose a tracer provider).
        """

    @abstractmethod
    async def dead_letters(self, subscriber: str, publisher: str, event: str) -> list[DeadLetter]:
        """What ``subscriber``'s subscription to ``publisher``'s ``event`` gave up on."""

    @abstractmethod
    async def unsettled(self, subscription: Subscription) -> int:
        """Messages of the subscription not acknowledged yet (queued or in flight)."""

    @abstractmethod
    async def cleanup(self) -> None:
        """Delete what the test's services created on the broker."""


class RabbitMQBroker(Broker):
    """The shared RabbitMQ at 127.0.0.1:5672."""

    def __init__(self) -> None:
        super().__init__("rabbitmq")
        self.queues: set[str] = set()

    def make(
        self,
        service: str,
        *,
        attempts: int = 4,
        prefetch: int = 1,
        setup: Callable[[Runtime], None] | None = None,
    ) -> Messaging:
        environ = {
            "QUEUE_DSN": RABBITMQ,
            "QUEUE_RETRY_LIMIT": str(attempts - 1),
            "QUEUE_PREFETCH": str(prefetch),
            **{f"QUEUE_{name}": value for name, value in _RABBITMQ_FAST.items()},
        }
        runtime = new_test_runtime(service, environ=environ)
        if setup is not None:
            setup(runtime)
        plugin: Messaging = rabbitmq.new_plugin(runtime, rabbitmq.Options("queue"))
        runtime.config.raise_for_issues()
        return plugin

    def _queue(self, subscriber: str, publisher: str, event: str) -> str:
        name = queue_name(subscriber, publisher, event)
        # The delay steps of _RABBITMQ_FAST with BACKOFF 2: 20ms, 40ms, 80ms, then 100ms.
        delays = {delay_queue(name, step) for step in (20, 40, 80, 100)}
        self.queues.update({name, dead_letter_queue(name), *delays})
        return name

    async def dead_letters(self, subscriber: str, publisher: str, event: str) -> list[DeadLetter]:
        queue = dead_letter_queue(self._queue(subscriber, publisher, event))
        found = []
        connection = await aio_pika.connect(RABBITMQ, timeout=5)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            while (message := await declared.get(no_ack=True, fail=False)) is not None:
                headers = dict(message.headers or {})
                attempts = cast("int", headers.get(RABBITMQ_ATTEMPTS_HEADER, 0))
                error = headers.get(RABBITMQ_ERROR_HEADER)
                found.append(
                    DeadLetter(
                        message.body, headers, attempts, error if isinstance(error, str) else None
                    )
                )
        return found

    async def unsettled(self, subscription: Subscription) -> int:
        connection = await aio_pika.connect(RABBITMQ, timeout=5)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(subscription.queue, passive=True)
            # Unacknowledged messages of a closed connection are back among the ready ones.
            return int(declared.declaration_result.message_count or 0)

    async def cleanup(self) -> None:
        connection = await aio_pika.connect(RABBITMQ, timeout=5)
        async with connection:
            channel = await connection.channel()
            # Each on its own: one failure must not leave the others behind.
            for queue in sorted(self.queues):
                with contextlib.suppress(ValueError, aio_pika.exceptions.AMQPError):
                    await channel.queue_delete(queue, timeout=5)
            for exchange in sorted(self.services):
                with contextlib.suppress(ValueError, aio_pika.exceptions.AMQPError):
                    await channel.exchange_delete(exchange, timeout=5)


class NatsBroker(Broker):
    """The shared NATS (JetStream) at 127.0.0.1:4222."""

    def __init__(self, url: str = NATS) -> None:
        super().__init__("nats")
        self.url = url

    def make(
        self,
        service: str,
        *,
        attempts: int = 4,
        prefetch: int = 1,
        setup: Callable[[Runtime], None] | None = None,
    ) -> Messaging:
        environ = {
            "NATS_URL": self.url,
            "NATS_MAX_DELIVER": str(attempts),
            "NATS_PREFETCH": str(prefetch),
            **{f"NATS_{name}": value for name, value in _NATS_FAST.items()},
        }
        runtime = new_test_runtime(service, environ=environ)
        if setup is not None:
            setup(runtime)
        plugin: Messaging = nats_plugin.new_plugin(runtime, nats_plugin.Options())
        runtime.config.raise_for_issues()
        return plugin

    async def dead_letters(self, subscriber: str, publisher: str, event: str) -> list[DeadLetter]:
        stream = dead_letter_stream(stream_name(subscriber))
        consumer = consumer_name(subscriber, publisher, event)
        client = await nats.connect(self.url)
        found = []
        try:
            js = client.jetstream()
            try:
                info = await js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                return []
            if not info.state.messages:
                return []
            for sequence in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(stream, sequence)
                headers = dict(message.headers or {})
                if headers.get("Lbtoolkit-Consumer") != consumer:
                    continue
                attempts = int(headers.get(ATTEMPTS_HEADER, "0"))
                found.append(
                    DeadLetter(message.data or b"", headers, attempts, headers.get(ERROR_HEADER))
                )
        finally:
            await client.close()
        return found

    async def unsettled(self, subscription: Subscription) -> int:
        client = await nats.connect(self.url)
        try:
            js = client.jetstream()
            stream = await js.find_stream_name_by_subject(
                cast("nats_plugin.Subscription", subscription).subject
            )
            info = await js.consumer_info(stream, subscription.queue)
            return int(info.num_ack_pending or 0) + int(info.num_pending or 0)
        finally:
            await client.close()

    async def cleanup(self) -> None:
        client = await nats.connect(self.url)
        try:
            js = client.jetstream()
            for service in sorted(self.services):
                for stream in (stream_name(service), dead_letter_stream(stream_name(service))):
                    with contextlib.suppress(nats.errors.Error):
                        await js.delete_stream(stream)
        finally:
            await client.close()
