"""The NATS plugin: events published by this service to JetStream, subscriptions to others'."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, overload

import nats
import nats.errors
import nats.js.errors
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from lbtoolkit.plugins._messaging import (
    BytesHandler,
    Consumer,
    Handler,
    HeaderValue,
    as_delivery_handler,
    current_deadline,
    outgoing_context,
)
from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.nats._config import Config, Options, Servers, find_issues, resolve_servers
from lbtoolkit.plugins.nats._errors import (
    NatsConnectionError,
    NatsDeclareError,
    NatsHandlerError,
    NatsNotConnectedError,
    NatsPublishError,
)
from lbtoolkit.plugins.nats._subscription import RetryPolicy, Subscription
from lbtoolkit.plugins.nats._wire import (
    consumer_name,
    dead_letter_stream,
    event_problem,
    outgoing_headers,
    stream_name,
    subject_root,
)

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

    from lbtoolkit.runtime import Runtime

__all__ = ["NatsPlugin", "Plugin"]

_READINESS_TIMEOUT = 2.0
# One try of a publish waits this long for JetStream's acknowledgement before
# sending again (same message id, so stored once); PUBLISH_TIMEOUT bounds all tries.
_ATTEMPT_TIMEOUT = 2.0

# What a call raises while the server cannot be reached (a publish not
# acknowledged in time raises NatsPublishError caused by one of these).
_OUTAGE_ERRORS = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.TimeoutError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    OSError,
    TimeoutError,
)
# What a publish sends again: the server or JetStream did not answer (yet).
_TRANSIENT = (
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    TimeoutError,
)

T = TypeVar("T")


class Plugin(Protocol):
    """NATS JetStream through nats-py, with at-least-once delivery.

    ``publish`` sends an event of this service; ``subscribe`` receives the
    events another service publishes, by that service's name. The methods
    are the rabbitmq plugin's, so a service can move from one to the other.
    """

    async def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> None:
        """Publish ``data`` as ``event`` and wait until JetStream stored it (acknowledged)."""
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

    def jetstream(self) -> JetStreamContext:
        """nats-py's JetStream context on the plugin's connection, for what the plugin lacks."""
        ...

    async def health_check(self) -> None:
        """Raise unless connected and JetStream answers (the readiness check)."""
        ...

    def info(self) -> str:
        """Print the plugin's variables and values (secrets masked); return the text."""
        ...

    async def pre_start(self) -> None:
        """Connect; create this service's stream and the subscriptions' consumers."""
        ...

    async def on_start(self) -> None:
        """Start fetching."""
        ...

    async def on_stop(self) -> None:
        """Stop fetching, let running handlers finish, drain and close the connection."""
        ...


class NatsPlugin:
    """The implementation behind :class:`Plugin`; build it with ``new_plugin``."""

    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name
        self._owner = f'plugin "{options.name}" (nats)'
        self._service = runtime.meta.name
        self._log = runtime.log.getChild(options.name)
        self.config = config = runtime.config.parse(Config, options.name, owner=self._owner)
        issues = find_issues(config, self._owner, self._variable)
        for issue in issues:
            runtime.config.add_issue(issue)
        self._servers = (
            Servers(("nats://localhost:4222",), ("localhost:4222",))
            if issues
            else resolve_servers(config)
        )
        self._root = subject_root(self._service)
        self._subject_prefix = f"{self._root}."
        self._stream = config.stream or stream_name(self._service)
        self._publish_timeout = config.publish_timeout.total_seconds()
        self._max_age = config.stream_max_age.total_seconds()
        self._retry = RetryPolicy(
            max_deliver=config.max_deliver,
            first_delay=config.retry_delay.total_seconds(),
            factor=config.backoff,
            longest_delay=config.max_delay.total_seconds(),
            ack_wait=config.ack_wait.total_seconds(),
            jitter=config.retry_jitter,
        )
        self._traces = runtime.tools.traces
        self._consumer = Consumer(runtime, "nats", self._log)
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._dead_letters_ready = False
        self._subscriptions: list[Subscription] = []
        self._consuming = False
        self._stopping = False
        runtime.tools.probes.register_check(
            options.name, "readiness", self.health_check, timeout=_READINESS_TIMEOUT
        )
        # Builtin socket errors count when raised through the plugin or its client.
        self._outage = runtime.tools.outages.register(
            options.name,
            "nats",
            _OUTAGE_ERRORS,
            owners=lambda: (self, self._client),
            describe=lambda error: describe(error, self._secrets()),
        )

    @property
    def connection_name(self) -> str:
        """The name the server lists this connection under (``service:prefix``)."""
        return f"{self._service}:{self._prefix}"

    @property
    def stream(self) -> str:
        """The stream this service's events are stored in."""
        return self._stream

    # -- lifecycle -------------------------------------------------------------
    async def pre_start(self) -> None:
        """Connect, create this service's stream and the subscriptions' consumers."""
        client = await self._connect()
        js = client.jetstream(timeout=self.config.connect_timeout.total_seconds())
        try:
            await self._declaring(
                f"stream {self._stream!r}",
                _ensure_stream(js, self._stream, f"{self._root}.>", self._max_age),
            )
            self._client, self._js = client, js
            for subscription in self._subscriptions:
                await self._declare(subscription)
        except BaseException:
            self._client = self._js = None
            await client.close()
            raise
        self._log.info(
            "%s connected to %s as %r; events go to stream %r",
            self._owner,
            self._servers,
            self.connection_name,
            self._stream,
        )

    async def on_start(self) -> None:
        """Start fetching: handlers run once the service's plugins have all started."""
        self._consuming = True
        for subscription in self._subscriptions:
            subscription.start()

    async def on_stop(self) -> None:
        """Stop fetching, let running handlers finish (they may publish), then drain."""
        self._stopping = True
        drain = self.config.drain_timeout.total_seconds()
        await asyncio.gather(*(s.stop(drain) for s in self._subscriptions))
        client, self._client, self._js = self._client, None, None
        if client is None or client.is_closed:
            return
        try:
            # Flushes the acknowledgements still buffered, then closes.
            await client.drain()
        except (nats.errors.Error, OSError, TimeoutError) as error:
            self._log.debug("%s: draining failed (%s); closing", self._owner, describe(error))
            await client.close()

    # -- the plugin's API ------------------------------------------------------
    async def publish(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None = None
    ) -> None:
        """Publish to subject ``{service}.{event}`` and wait for JetStream's acknowledgement.

        Through a lost connection it sends again (with the same message id, so
        JetStream stores it once) until acknowledged or ``PUBLISH_TIMEOUT``.
        Raises ``NatsPublishError``.
        """
        if self._traces.enabled or current_deadline() is not None:
            with outgoing_context(
                self._runtime, "nats", self._subject_prefix + event, event
            ) as extra:
                # The caller's own headers win: a deadline given explicitly stays.
                await self._send(event, data, {**extra, **headers} if headers else extra)
            return
        await self._send(event, data, headers)

    async def _send(
        self, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None
    ) -> None:
        subject = self._subject_prefix + event
        # Handlers still draining in on_stop may publish until the connection closes.
        js = self._js
        if js is None:
            raise NatsNotConnectedError(self._owner, f"publish {event!r}")
        problem = event_problem(event)
        if problem:
            raise NatsPublishError(self._owner, subject, event, problem)
        # 32 hex digits like uuid4().hex (128 random bits) at a fraction of its cost.
        wire_headers = outgoing_headers(os.urandom(16).hex(), headers)
        timeout = self._publish_timeout
        started = asyncio.get_running_loop().time()
        try:
            await js.publish(
                subject, data, timeout=min(timeout, _ATTEMPT_TIMEOUT), headers=wire_headers
            )
        except _TRANSIENT as error:
            deadline = started + timeout
            await self._publish_again(
                js=js,
                subject=subject,
                event=event,
                data=data,
                headers=wire_headers,
                deadline=deadline,
                error=error,
            )
        except nats.errors.ConnectionClosedError as error:
            raise NatsNotConnectedError(self._owner, f"publish {event!r}") from error
        except nats.js.errors.APIError as error:
            raise self._refused(subject, event, error) from error
        except nats.errors.BadHeaderError as error:
            rule = "a header name is letters, digits and !#$%&'*+-.^_`|~"
            reason = f"{describe(error)} ({rule})"
            raise NatsPublishError(self._owner, subject, event, reason) from error

    async def _publish_again(
        self,
        *,
        js: JetStreamContext,
        subject: str,
        event: str,
        data: bytes,
        headers: dict[str, str],
        deadline: float,
        error: BaseException,
    ) -> None:
        """Send the same message until acknowledged or ``deadline`` (loop time) passes."""
        loop = asyncio.get_running_loop()
        pause = 0.05
        while True:
            left = deadline - loop.time()
            if left <= 0:
                reason = f"not acknowledged within {self._publish_timeout:g}s (PUBLISH_TIMEOUT)"
                raise NatsPublishError(self._owner, subject, event, reason) from error
            self._log.debug("publishing %r: %s; sending again", event, describe(error))
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 1.0)
            left = max(deadline - loop.time(), 0.001)
            try:
                await js.publish(
                    subject, data, timeout=min(left, _ATTEMPT_TIMEOUT), headers=dict(headers)
                )
            except _TRANSIENT as again:
                error = again
            except nats.errors.ConnectionClosedError as closed:
                raise NatsNotConnectedError(self._owner, f"publish {event!r}") from closed
            except nats.js.errors.APIError as refused:
                raise self._refused(subject, event, refused) from refused
            else:
                return

    def _refused(self, subject: str, event: str, error: BaseException) -> NatsPublishError:
        reason = f"JetStream refused it ({describe(error, self._secrets())})"
        return NatsPublishError(self._owner, subject, event, reason)

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
        here: ``bytes``, the payload; ``Delivery``, the payload with its event,
        headers and attempt. Any other handler is refused with ``NatsHandlerError``.

        The durable consumer (default ``{this service}:{service}:{event}``,
        ``queue=`` names it) is shared by the replicas of this service. Created
        at once when connected (else in ``pre_start``); fetched from
        ``on_start`` on. ``prefetch`` overrides ``PREFETCH``. A message is
        acknowledged when the handler returns; when it raises, the message
        comes again after ``RETRY_DELAY`` (growing by ``BACKOFF`` per failure,
        up to ``MAX_DELAY``), and after ``MAX_DELIVER`` failed deliveries it
        goes to the dead-letter stream ``{stream}-dlq``.
        """
        subject_text = f"{service}/{event}"

        def refuse(name: str, problem: str) -> Exception:
            return NatsHandlerError(self._owner, subject_text, name, problem)

        on_delivery = as_delivery_handler(handler, refuse)
        if self._stopping:
            raise NatsNotConnectedError(self._owner, f"subscribe to {subject_text}")
        root = subject_root(service)
        subscription = Subscription(
            service=service,
            event=event,
            queue=queue or consumer_name(self._service, service, event),
            subject=f"{root}.{_pattern(event)}",
            prefix_length=len(root) + 1,
            dead_letter_root=self._root,
            handler=on_delivery,
            prefetch=self.config.prefetch if prefetch is None else max(prefetch, 1),
            retry=self._retry,
            consumer=self._consumer,
            log=self._log,
            on_unsubscribe=self._forget,
        )
        if self._js is not None:
            await self._declare(subscription)
            if self._consuming:
                subscription.start()
        self._subscriptions.append(subscription)
        return subscription

    def jetstream(self) -> JetStreamContext:
        """nats-py's JetStream context; its connection is drained in ``on_stop``."""
        js = self._js
        if js is None or self._stopping:
            raise NatsNotConnectedError(self._owner, "use JetStream")
        return js

    def info(self) -> str:
        """Print the plugin's variables and values (secrets masked); return the text."""
        text = self._runtime.config.describe(self._owner, self.config)
        sys.stdout.write(text + "\n")
        return text

    async def health_check(self) -> None:
        """Raise unless connected and JetStream answers (the readiness check)."""
        client, js = self._client, self._js
        if client is None or js is None:
            raise NatsNotConnectedError(self._owner, f"reach {self._servers}")
        if not client.is_connected:
            raise self._unreachable("connection lost, reconnecting")
        try:
            # A JetStream round trip: the server answers and the service's stream exists.
            await js.stream_info(self._stream)
        except (nats.errors.Error, OSError, TimeoutError) as error:
            raise self._unreachable(describe(error, self._secrets())) from error
        self._outage.available()

    # -- internals -------------------------------------------------------------
    async def _connect(self) -> Client:
        config = self.config
        timeout = config.connect_timeout.total_seconds()
        failures: list[BaseException] = []

        async def on_error(error: Exception) -> None:
            if self._client is None:
                failures.append(error)  # the start reports it
                return
            self._log.warning("%s: %s", self._owner, describe(error, self._secrets()))

        try:
            async with asyncio.timeout(timeout):
                return await nats.connect(
                    servers=list(self._servers.urls),
                    name=self.connection_name,
                    user=config.username or None,
                    password=config.password.get_secret_value() or None,
                    token=config.token.get_secret_value() or None,
                    connect_timeout=timeout,
                    reconnect_time_wait=config.reconnect_wait.total_seconds(),
                    max_reconnect_attempts=config.max_reconnects,
                    # nats-py tries the first connection like a reconnection (every
                    # RECONNECT_WAIT); CONNECT_TIMEOUT bounds it, and the last failure
                    # is what the start reports.
                    allow_reconnect=True,
                    drain_timeout=max(config.drain_timeout.total_seconds(), 0.1),
                    error_cb=on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
        except (nats.errors.Error, OSError, TimeoutError) as error:
            cause = describe(failures[-1] if failures else error, self._secrets())
            if isinstance(error, TimeoutError) and not failures:
                cause = f"no answer within {timeout:g}s (CONNECT_TIMEOUT)"
            raise self._unreachable(cause, failures[-1] if failures else error) from error

    async def _on_disconnected(self) -> None:
        if self._stopping or self._client is None:
            return
        self._log.warning("%s lost its connection to %s; reconnecting", self._owner, self._servers)
        self._outage.failed(ConnectionError(f"disconnected from {self._servers}"), "connection")

    async def _on_reconnected(self) -> None:
        client = self._client
        where = client.connected_url.netloc if client and client.connected_url else "?"
        self._log.info("%s reconnected to %s", self._owner, where)

    async def _declare(self, subscription: Subscription) -> None:
        js = self._js
        if js is None:
            raise NatsNotConnectedError(self._owner, f"subscribe to {subscription.subject}")
        if not self._dead_letters_ready:
            dead = dead_letter_stream(self._stream)
            await self._declaring(
                f"stream {dead!r}",
                _ensure_stream(js, dead, f"{self._root}-dlq.>", 0.0),
            )
            self._dead_letters_ready = True
        stream = await self._declaring(
            f"the stream of {subscription.subject!r}",
            _stream_of(js, subscription.service, subscription.subject, self._max_age),
        )
        await self._declaring(f"consumer {subscription.queue!r}", subscription.declare(js, stream))

    async def _declaring(self, what: str, step: Awaitable[T]) -> T:
        """Run a declaration step; name what was being declared when it fails."""
        try:
            async with asyncio.timeout(self.config.connect_timeout.total_seconds()):
                return await step
        except ValueError as error:  # the stream found is not the one expected
            raise NatsDeclareError(self._owner, what, str(error)) from error
        except (nats.errors.Error, OSError, TimeoutError) as error:
            cause = describe(error, self._secrets())
            raise NatsDeclareError(self._owner, what, cause) from error

    async def _forget(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def _unreachable(self, cause: str, error: BaseException | None = None) -> NatsConnectionError:
        host, port = self._servers.first
        return NatsConnectionError(self._owner, host, port, cause, self._hint(error))

    def _variable(self, name: str) -> str:
        return self._runtime.config.variable_name(name, self._prefix)

    def _hint(self, error: BaseException | None) -> str:
        refused_login = (
            isinstance(error, nats.errors.AuthorizationError)
            or "authorization" in str(error).lower()
        )
        # nats-server closes the socket right after its -ERR: when the client's
        # CONNECT is still unread there, the kernel resets the connection and the
        # -ERR is lost, so a reset in the handshake with credentials set is most
        # likely the same refused login.
        config = self.config
        has_credentials = bool(
            config.password.get_secret_value() or config.token.get_secret_value()
        )
        reset_with_credentials = isinstance(error, ConnectionResetError) and has_credentials
        if refused_login or reset_with_credentials:
            names = [self._variable(n) for n in ("USERNAME", "PASSWORD")]
            return f"check {' and '.join(names)} (or {self._variable('TOKEN')})"
        return (
            f"check {self._variable('ADDR')} (or {self._variable('URL')}) "
            "and that nats-server runs there"
        )

    def _secrets(self) -> tuple[str, ...]:
        config = self.config
        return (
            config.password.get_secret_value(),
            config.token.get_secret_value(),
            config.url.get_secret_value(),
        )


def _pattern(event: str) -> str:
    """A topic pattern in NATS' wildcards: RabbitMQ's ``#`` is ``>``."""
    return (
        ">" if event == "#" else event.removesuffix(".#") + ".>" if event.endswith(".#") else event
    )


async def _ensure_stream(js: JetStreamContext, name: str, subjects: str, max_age: float) -> None:
    """Create the stream unless it exists; one of that name must store ``subjects``.

    Limits retention, not interest: a server restarting recovers its streams
    before their consumers, and an interest stream drops what is published
    in between as wanted by nobody.
    """
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        config = StreamConfig(
            name=name,
            subjects=[subjects],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=max_age or None,
        )
        # Two replicas creating it at once: the same settings make the second a no-op.
        await js.add_stream(config)
        return
    if subjects not in (info.config.subjects or ()):
        listed = ", ".join(info.config.subjects or ()) or "none"
        msg = f"it exists and stores subjects {listed}, not {subjects}"
        raise ValueError(msg)


async def _stream_of(js: JetStreamContext, service: str, subject: str, max_age: float) -> str:
    """The stream storing ``subject``; the publisher's, created here when it does not exist yet."""
    try:
        return await js.find_stream_name_by_subject(subject)
    except nats.js.errors.NotFoundError:
        pass
    name = stream_name(service)
    await _ensure_stream(js, name, f"{subject_root(service)}.>", max_age)
    return name
