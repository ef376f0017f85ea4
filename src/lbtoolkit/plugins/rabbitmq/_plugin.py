"""The RabbitMQ plugin: events published by this service, subscriptions to others'."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import aio_pika
from aio_pika.exceptions import (
    CONNECTION_EXCEPTIONS,
    AMQPConnectionError,
    ChannelInvalidStateError,
    DeliveryError,
)

from lbtoolkit.plugins._messaging import Consumer, current_deadline, outgoing_context
from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.rabbitmq._close import (
    BrokerClose,
    broker_close,
    open_refusal,
    open_refused,
)
from lbtoolkit.plugins.rabbitmq._config import Config, Options, delay_issue, resolve_target
from lbtoolkit.plugins.rabbitmq._delivery import HeaderValue, Outgoing, outgoing
from lbtoolkit.plugins.rabbitmq._errors import (
    RabbitMQConnectionError,
    RabbitMQDeclareError,
    RabbitMQNotConnectedError,
    RabbitMQPublishError,
)
from lbtoolkit.plugins.rabbitmq._handlers import BytesHandler, Handler, as_delivery_handler
from lbtoolkit.plugins.rabbitmq._lastbackend import (
    ROUTING_KEY,
    encode_envelope,
    message_type,
    queue_of,
)
from lbtoolkit.plugins.rabbitmq._subscription import (
    RetryPolicy,
    Subscription,
    declare_exchange,
    queue_name,
)

if TYPE_CHECKING:
    from aio_pika.abc import (
        AbstractRobustChannel,
        AbstractRobustConnection,
        AbstractRobustExchange,
    )
    from pamqp.common import FieldTable

    from lbtoolkit.runtime import Runtime

__all__ = ["Plugin", "RabbitMQPlugin"]

_READINESS_TIMEOUT = 2.0

# What a call raises while the broker cannot be reached (a publish not
# confirmed in time raises RabbitMQPublishError caused by one of these).
_OUTAGE_ERRORS = (AMQPConnectionError, ChannelInvalidStateError, OSError, TimeoutError)

T = TypeVar("T")

# The variables a connection error's hint names, by what the broker refused.
_ADDRESS = ("HOST", "PORT")
_LOGIN = ("USERNAME", "PASSWORD")
_VHOST = ("VHOST", "USERNAME")


class Plugin(Protocol):
    """RabbitMQ through aio-pika, with at-least-once delivery.

    ``publish`` sends an event of this service; ``subscribe`` receives the
    events another service publishes, by that service's name.
    """

    async def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> None:
        """Publish ``data`` as ``event`` and wait until the broker has it (confirmed)."""
        ...

    @overload
    async def subscribe(
        self,
        service: str,
        event: str,
        handler: Handler,
        *,
        queue: str | None = None,
        prefetch: int | None = None,
    ) -> Subscription: ...
    @overload
    async def subscribe(
        self,
        service: str,
        event: str,
        handler: BytesHandler,
        *,
        queue: str | None = None,
        prefetch: int | None = None,
    ) -> Subscription: ...
    async def subscribe(
        self,
        service: str,
        event: str,
        handler: Handler | BytesHandler,
        *,
        queue: str | None = None,
        prefetch: int | None = None,
    ) -> Subscription:
        """Call ``handler`` with each ``event`` that ``service`` publishes.

        A handler whose first parameter is annotated ``bytes`` gets the payload
        (the guide's shape); one annotated ``Delivery`` gets the :class:`Delivery`.
        """
        ...

    async def channel(self) -> AbstractRobustChannel:
        """A new channel on the plugin's connection, for what the plugin does not cover."""
        ...

    async def health_check(self) -> None:
        """Raise unless connected and the broker answers (the readiness check)."""
        ...

    def info(self) -> str:
        """Print the plugin's variables and values (secrets masked); return the text."""
        ...

    async def pre_start(self) -> None:
        """Connect; declare this service's exchange and the subscriptions made so far."""
        ...

    async def on_start(self) -> None:
        """Start consuming."""
        ...

    async def on_stop(self) -> None:
        """Stop consuming, let running handlers finish, close the connection."""
        ...


class RabbitMQPlugin:
    """The implementation behind :class:`Plugin`; build it with ``new_plugin``."""

    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name
        self._owner = f'plugin "{options.name}" (rabbitmq)'
        self._service = runtime.meta.name
        self._log = runtime.log.getChild(options.name)
        self.config = runtime.config.parse(Config, options.name, owner=self._owner)
        self._publish_timeout = self.config.publish_timeout.total_seconds()
        dsn_variable = self._variable("DSN")
        self._target, issue = resolve_target(self.config, dsn_variable, self._owner)
        if issue is not None:
            runtime.config.add_issue(issue)
        config = self.config
        if (delays := delay_issue(config, self._variable, self._owner)) is not None:
            runtime.config.add_issue(delays)
        self._go_format = config.wire_format == "lastbackend"
        self._retry = RetryPolicy(
            limit=config.retry_limit,
            first_delay=config.retry_delay.total_seconds(),
            factor=config.backoff,
            longest_delay=config.retry_max_delay.total_seconds(),
            jitter=config.retry_jitter,
        )
        self._traces = runtime.tools.traces
        self._consumer = Consumer(runtime, "rabbitmq", self._log)
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._subscriptions: list[Subscription] = []
        self._consuming = False
        self._stopping = False
        runtime.tools.probes.register_check(
            options.name, "readiness", self.health_check, timeout=_READINESS_TIMEOUT
        )
        # The socket's errors count when raised through the plugin (publish) or its connection.
        self._outage = runtime.tools.outages.register(
            options.name,
            "rabbitmq",
            _OUTAGE_ERRORS,
            owners=lambda: (self, self._connection),
            describe=lambda error: describe(error, self._secrets()),
        )

    @property
    def connection_name(self) -> str:
        """The name the broker lists this connection under (``service:prefix``)."""
        return f"{self._service}:{self._prefix}"

    # -- lifecycle -------------------------------------------------------------
    async def pre_start(self) -> None:
        """Connect, declare this service's exchange and the subscriptions made so far."""
        connection = await self._connect()
        try:
            publisher = await connection.channel(publisher_confirms=True)
            exchange = await self._declaring(
                f"exchange {self._service!r}",
                declare_exchange(publisher, self._service, go_format=self._go_format),
            )
            for subscription in self._subscriptions:
                await self._declaring(
                    f"queue {subscription.queue!r}", subscription.declare(connection)
                )
        except BaseException:
            await connection.close()
            raise
        self._connection, self._publisher, self._exchange = connection, publisher, exchange
        self._log.info("%s connected to %s as %r", self._owner, self._target, self.connection_name)

    async def on_start(self) -> None:
        """Start consuming: handlers run once the service's plugins have all started."""
        self._consuming = True
        for subscription in self._subscriptions:
            await self._declaring(f"queue {subscription.queue!r}", subscription.start())

    async def on_stop(self) -> None:
        """Stop consuming, let running handlers finish, then close the connection."""
        self._stopping = True
        drain = self.config.drain_timeout.total_seconds()
        connection = self._connection
        # Cancelling consumers needs the broker; closing the connection cancels them too.
        cancel = connection is not None and connection.connected.is_set()
        await asyncio.gather(*(s.stop(drain, cancel=cancel) for s in self._subscriptions))
        self._connection = self._publisher = self._exchange = None
        if connection is not None:
            await connection.close()

    # -- the plugin's API ------------------------------------------------------
    def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> Coroutine[Any, Any, None]:
        """Publish to this service's exchange with routing key ``event``.

        Waits for the broker's confirmation; through a lost connection it waits
        for the reconnection and sends again (so a subscriber may see the message
        twice), up to ``PUBLISH_TIMEOUT``. Raises ``RabbitMQPublishError``.
        """
        # A plain method handing back the coroutine that does the work: awaiting
        # ``publish`` costs no coroutine frame of its own.
        if self._traces.enabled or current_deadline() is not None:
            return self._send_with_context(event, data, headers)
        return self._send(event, data, headers)

    async def _send_with_context(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None
    ) -> None:
        with outgoing_context(self._runtime, "rabbitmq", self._service, event) as extra:
            # The caller's own headers win: a deadline given explicitly stays.
            await self._send(event, data, {**extra, **headers} if headers else extra)

    async def _send(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None
    ) -> None:
        if self._go_format:
            body = encode_envelope(event, bytes(data))
            kind = message_type(self._service, event)
            message = outgoing(self._service, event, body, headers, kind)
            routing_key = ROUTING_KEY
        else:
            message = outgoing(self._service, event, data, headers)
            routing_key = event
        # Handlers still draining in on_stop may publish until the connection closes.
        exchange, channel, connection = self._exchange, self._publisher, self._connection
        if exchange is None or channel is None:
            raise RabbitMQNotConnectedError(self._owner, f"publish {event!r}")
        timeout = self._publish_timeout
        started = asyncio.get_running_loop().time()
        # The common case, a confirmation on the first try, needs no retry
        # bookkeeping; _publish_again takes over with what is left of the time.
        try:
            if connection is not None and connection.connected.is_set():
                # Connected, nothing waits before aiormq's own timed section,
                # which bounds the send and its confirmation: no second timer.
                await _publish(channel, exchange.name, message, routing_key, timeout)
            else:
                # A robust channel first waits for the connection to come back.
                async with asyncio.timeout(timeout):
                    await _publish(channel, exchange.name, message, routing_key, None)
        except DeliveryError as error:
            raise self._refused(event, error) from error
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
            await self._publish_again(message, event, routing_key, started + timeout, error)

    async def _publish_again(
        self,
        message: Outgoing,
        event: str,
        routing_key: str,
        deadline: float,
        error: BaseException,
    ) -> None:
        """Send ``message`` again until confirmed or ``deadline`` (loop time) passes."""
        loop = asyncio.get_running_loop()
        pause = 0.05
        while True:
            if loop.time() >= deadline:
                reason = f"not confirmed within {self._publish_timeout:g}s (PUBLISH_TIMEOUT)"
                raise RabbitMQPublishError(self._owner, self._service, event, reason) from error
            self._log.debug("publishing %r: %s; sending again", event, describe(error))
            await asyncio.sleep(min(pause, max(deadline - loop.time(), 0)))
            pause = min(pause * 2, 1.0)
            exchange, channel = self._exchange, self._publisher
            if exchange is None or channel is None:
                raise RabbitMQNotConnectedError(self._owner, f"publish {event!r}")
            try:
                # A robust channel waits here for a lost connection to come back.
                async with asyncio.timeout_at(deadline):
                    await _publish(channel, exchange.name, message, routing_key, None)
            except DeliveryError as refused:
                raise self._refused(event, refused) from refused
            except (*CONNECTION_EXCEPTIONS, TimeoutError) as again:
                error = again
            else:
                return

    def _refused(self, event: str, error: DeliveryError) -> RabbitMQPublishError:
        reason = f"the broker refused it ({describe(error)})"
        return RabbitMQPublishError(self._owner, self._service, event, reason)

    @overload
    async def subscribe(
        self,
        service: str,
        event: str,
        handler: Handler,
        *,
        queue: str | None = None,
        prefetch: int | None = None,
    ) -> Subscription: ...
    @overload
    async def subscribe(
        self,
        service: str,
        event: str,
        handler: BytesHandler,
        *,
        queue: str | None = None,
        prefetch: int | None = None,
    ) -> Subscription: ...
    async def subscribe(
        self,
        service: str,
        event: str,
        handler: Handler | BytesHandler,
        *,
        queue: str | None = None,
        prefetch: int | None = None,
    ) -> Subscription:
        """Call ``handler`` with each ``event`` that ``service`` publishes.

        The handler's first parameter's annotation chooses what it gets, once,
        here: ``bytes``, the payload (the guide's shape); ``Delivery``, the
        payload with its event, headers and attempt. Any other handler is
        refused with ``RabbitMQHandlerError``.

        The queue (default ``{this service}:{service}:{event}``; the Go
        plugin's ``{service}:events`` with ``WIRE_FORMAT=lastbackend``) is
        shared by the replicas of this service. Declared at once when connected
        (else in ``pre_start``); consumed from ``on_start`` on. ``prefetch``
        overrides ``PREFETCH`` for this subscription. Each delivery runs as a
        request (``delivery.get`` for request-scoped dependencies, a consumer
        span, metrics; past its producer's deadline it is dead-lettered
        unhandled). The handler's message is acknowledged when it returns; when
        it raises, the message comes again after ``RETRY_DELAY`` (growing by
        ``BACKOFF`` up to ``RETRY_MAX_DELAY``, held in a delay queue on the
        broker), up to ``RETRY_LIMIT`` times, then moves to ``{queue}.dead-letter``.
        """
        subject = f"{service}/{event}"
        on_delivery = as_delivery_handler(handler, self._owner, subject)
        if self._stopping:
            raise RabbitMQNotConnectedError(self._owner, f"subscribe to {subject}")
        default_queue = queue_of(service) if self._go_format else None
        subscription = Subscription(
            service=service,
            event=event,
            queue=queue or default_queue or queue_name(self._service, service, event),
            handler=on_delivery,
            prefetch=self.config.prefetch if prefetch is None else prefetch,
            retry=self._retry,
            consumer=self._consumer,
            log=self._log,
            on_unsubscribe=self._forget,
            go_format=self._go_format,
            route=self._route,
        )
        connection = self._connection
        if connection is not None:
            what = f"queue {subscription.queue!r}"
            await self._declaring(what, subscription.declare(connection))
            if self._consuming:
                await self._declaring(what, subscription.start())
        self._subscriptions.append(subscription)
        return subscription

    async def channel(self) -> AbstractRobustChannel:
        """A new robust channel; it is closed with the connection in ``on_stop``."""
        connection = self._connection
        if connection is None or self._stopping:
            raise RabbitMQNotConnectedError(self._owner, "open a channel")
        channel = connection.channel()
        await channel
        return channel

    def info(self) -> str:
        """Print the plugin's variables and values (secrets masked); return the text."""
        text = self._runtime.config.describe(self._owner, self.config)
        sys.stdout.write(text + "\n")
        return text

    async def health_check(self) -> None:
        """Raise unless connected and the broker answers (the readiness check)."""
        connection, channel = self._connection, self._publisher
        if connection is None or channel is None:
            raise RabbitMQNotConnectedError(self._owner, f"reach {self._target}")
        if not connection.connected.is_set():
            raise self._unreachable("connection lost, reconnecting")
        try:
            # A round trip proves the broker answers, not just that a socket is open.
            underlay = await channel.get_underlay_channel()
            await underlay.exchange_declare(self._service, passive=True, timeout=_READINESS_TIMEOUT)
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
            raise self._unreachable(describe(error, self._secrets())) from error
        self._outage.available()

    # -- internals -------------------------------------------------------------
    async def _connect(self) -> AbstractRobustConnection:
        target, config = self._target, self.config
        timeout = config.connect_timeout.total_seconds()
        properties: FieldTable = {"connection_name": self.connection_name}
        reconnect = config.reconnect_interval.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                if target.url is not None:
                    return await aio_pika.connect_robust(
                        target.url,
                        timeout=timeout,
                        client_properties=properties,
                        reconnect_interval=reconnect,
                    )
                return await aio_pika.connect_robust(
                    host=target.host,
                    port=target.port,
                    login=config.username,
                    password=config.password.get_secret_value(),
                    virtualhost=target.vhost,
                    timeout=timeout,
                    client_properties=properties,
                    reconnect_interval=reconnect,
                )
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
            if isinstance(error, TimeoutError):
                cause = f"no answer within {timeout:g}s (CONNECT_TIMEOUT)"
                raise self._unreachable(cause) from error
            cause, about = await self._refusal(error)
            raise self._unreachable(cause, about) from error

    async def _refusal(self, error: BaseException) -> tuple[str, tuple[str, ...]]:
        """Why the broker would not serve the connection, in its words; the variables to check."""
        secrets, vhost = self._secrets(), self._target.vhost
        if open_refused(error):
            close = None
            with contextlib.suppress(TimeoutError):
                # Asked within CONNECT_TIMEOUT again: a start error comes in bounded time.
                async with asyncio.timeout(self.config.connect_timeout.total_seconds()):
                    close = await self._ask_open_refusal()
            if close is None:
                reason = "(it does not exist, or the user may not use it)"
                return f"the broker refused virtual host {vhost!r} {reason}", _VHOST
            return f"the broker refused virtual host {vhost!r}: {close.show(secrets)}", _VHOST
        close = broker_close(error)
        if close is None:
            return describe(error, secrets), _ADDRESS
        if close.refused_login:
            return f"the broker refused the login: {close.show(secrets)}", _LOGIN
        return f"the broker closed the connection: {close.show(secrets)}", _ADDRESS

    async def _ask_open_refusal(self) -> BrokerClose | None:
        target, config = self._target, self.config
        if target.url is None:
            username, password = config.username, config.password.get_secret_value()
        elif target.url.scheme == "amqp":
            username, password = target.url.user or "guest", target.url.password or "guest"
        else:
            return None  # amqps: the plain handshake would not be understood
        return await open_refusal(
            target.host, target.port, username=username, password=password, vhost=target.vhost
        )

    def _unreachable(self, cause: str, about: tuple[str, ...] = ()) -> RabbitMQConnectionError:
        target = self._target
        return RabbitMQConnectionError(
            self._owner, target.host, target.port, cause, self._hint(about or _ADDRESS)
        )

    async def _declaring(self, what: str, step: Awaitable[T]) -> T:
        """Run a declaration step; name what was being declared when it fails."""
        try:
            async with asyncio.timeout(self.config.connect_timeout.total_seconds()):
                return await step
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
            cause = describe(error, self._secrets())
            raise RabbitMQDeclareError(self._owner, what, cause) from error

    def _route(self, queue: str, kind: str) -> Subscription | None:
        """The subscription for Go-format messages of type ``kind`` on ``queue``."""
        for subscription in self._subscriptions:
            if subscription.queue == queue and subscription.message_type == kind:
                return subscription
        return None

    async def _forget(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def _variable(self, name: str) -> str:
        return self._runtime.config.variable_name(name, self._prefix)

    def _hint(self, about: tuple[str, ...]) -> str:
        names = [self._variable(name) for name in about]
        dsn = self._variable("DSN")
        return f"check {' and '.join(names)} (or {dsn}) and that RabbitMQ runs there"

    def _secrets(self) -> tuple[str, ...]:
        return (self.config.password.get_secret_value(), self.config.dsn.get_secret_value())


async def _publish(
    channel: AbstractRobustChannel,
    exchange: str,
    message: Outgoing,
    routing_key: str,
    timeout: float | None,  # noqa: ASYNC109 - aiormq's own bound on the send and its confirmation
) -> None:
    """What ``Exchange.publish`` does with a message, given its properties ready-made.

    Raises ``DeliveryError`` when the broker refuses it; waits for the
    connection to come back when it is lost (a robust channel).
    """
    if channel.is_closed:
        raise ChannelInvalidStateError(f"{channel!r} closed")
    underlay = await channel.get_underlay_channel()
    await underlay.basic_publish(
        message.body,
        exchange=exchange,
        routing_key=routing_key,
        properties=message.properties,
        mandatory=False,
        timeout=timeout,
    )
