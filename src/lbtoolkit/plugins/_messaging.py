"""What the message-broker plugins share: the handler's view of a message, and its request.

The rabbitmq and nats plugins hand their subscription handlers the same
:class:`Delivery` and accept the same two handler shapes, so a service can
move from one broker to the other without touching its handlers.

Each delivery is handled as a request, the same way by both plugins
(:class:`Consumer`): a dependency-injection request scope of its own
(``await delivery.get(SomeType)``), RED metrics by event and outcome, an
OpenTelemetry consumer span linked to the producer's, and the producer's
deadline: a message past it is given up without running the handler.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import random
import time
import typing
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload
from weakref import WeakKeyDictionary

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit._names import qualified_name
from lbtoolkit.client import incoming_call
from lbtoolkit.tools import MethodMetrics, RedCollector

if TYPE_CHECKING:
    import logging

    from dishka import AsyncContainer
    from prometheus_client import CollectorRegistry

    from lbtoolkit.runtime import Runtime

__all__ = [
    "DEADLINE_HEADER",
    "OUTCOMES",
    "BrokerNotConnectedError",
    "BytesHandler",
    "Consumer",
    "Delivery",
    "DeliveryScopeError",
    "Handler",
    "HeaderValue",
    "MessageScope",
    "as_delivery_handler",
    "current_deadline",
    "outgoing_context",
    "retry_delay",
    "within_deadline",
]

T = TypeVar("T")

HeaderValue = str | int | float | bool | bytes | None

DEADLINE_HEADER = "lbtoolkit-deadline"
"""The producer's deadline: seconds since the epoch (UTC), as decimal text."""

# What a delivery's handling ended with: the ``code`` label of the metrics.
OK, FAILED, EXPIRED = "ok", "error", "expired"
OUTCOMES = (OK, FAILED, EXPIRED)

# The deadline publishes carry: set while a handler runs (its message's), or by within_deadline.
_deadline: ContextVar[float | None] = ContextVar("lbtoolkit_message_deadline", default=None)


class BrokerNotConnectedError(LbToolkitError, RuntimeError):
    """A broker plugin used before ``pre_start`` or after ``on_stop`` (brokers subclass it)."""

    def __init__(self, owner: str, action: str) -> None:
        super().__init__(owner, action)
        self.owner = owner
        self.action = action

    def __str__(self) -> str:
        return (
            f"{self.owner}: cannot {self.action}: not connected. Hint: the plugin connects in "
            "pre_start and disconnects in on_stop; call it while the service runs"
        )


class DeliveryScopeError(LbToolkitError, LookupError):
    """``delivery.get`` was called on a delivery without a dependency container."""

    def __init__(self, subject: str, dependency: str) -> None:
        super().__init__(subject, dependency)
        self.subject = subject
        self.dependency = dependency

    def __str__(self) -> str:
        return (
            f"cannot resolve {self.dependency} for the delivery of {self.subject}: no "
            "dependency container. Hint: deliveries get a request scope once the service "
            "has built its container (it does at start); a plugin built by hand in a test "
            "needs runtime.injector.build() before messages arrive"
        )


class MessageScope:
    """The request scope of one delivery: entered on the first ``get``, closed after the handler."""

    __slots__ = ("_app", "_request")

    def __init__(self, container: AsyncContainer) -> None:
        self._app = container
        self._request: AsyncContainer | None = None

    @property
    def opened(self) -> bool:
        """Whether a dependency was asked for (and the scope must be closed)."""
        return self._request is not None

    async def get(self, dependency: Any) -> Any:
        """Resolve ``dependency``; the first call enters the request scope."""
        request = self._request
        if request is None:
            request = self._request = self._app()
        return await request.get(dependency)

    async def close(self) -> None:
        """Run the request-scoped finalizers, if the scope was entered."""
        request, self._request = self._request, None
        if request is not None:
            await request.close()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a subscription's handler.

    ``data`` is the payload as published; ``headers`` the publisher's headers;
    ``attempt`` counts handler runs for this message (1 on first delivery);
    ``redelivered`` is the broker's flag (set after a lost connection, so the
    handler may have seen it before: at-least-once delivery); ``last_error``
    what the previous attempt raised, when the broker carried it (RabbitMQ
    does, NATS does not); ``deadline`` the producer's deadline (seconds since
    the epoch) or None.

    ``await delivery.get(SomeType)`` resolves a dependency in the delivery's
    own request scope: request-scoped objects are built once per delivery and
    finalized when the handler returns.
    """

    event: str
    service: str
    data: bytes
    headers: Mapping[str, object]
    message_id: str | None
    redelivered: bool
    attempt: int
    last_error: str | None = None
    deadline: float | None = None
    scope: MessageScope | None = dataclasses.field(default=None, repr=False, compare=False)

    @overload
    async def get(self, dependency: type[T]) -> T: ...
    @overload
    async def get(self, dependency: Any) -> Any: ...
    async def get(self, dependency: Any) -> Any:
        """Resolve ``dependency`` in this delivery's request scope (app-scoped ones too)."""
        scope = self.scope
        if scope is None:
            raise DeliveryScopeError(f"{self.service}/{self.event}", _type_name(dependency))
        return await scope.get(dependency)


def current_deadline() -> float | None:
    """The deadline a publish made here carries (seconds since the epoch), if any.

    One set by :func:`within_deadline`, else, while serving a gRPC or HTTP
    request, that request's remaining deadline.
    """
    deadline = _deadline.get()
    if deadline is not None:
        return deadline
    incoming = incoming_call()
    remaining = incoming.time_remaining() if incoming is not None else None
    return None if remaining is None else time.time() + remaining


@contextlib.contextmanager
def within_deadline(timeout: float) -> Iterator[float]:
    """Publishes inside carry a deadline ``timeout`` seconds from now (or an earlier one in force).

    Subscribers give up a message whose deadline passed before its handler
    started: it goes to the dead letters, its handler never runs.
    """
    deadline = time.time() + timeout
    enclosing = current_deadline()
    if enclosing is not None:
        deadline = min(deadline, enclosing)
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def parse_deadline(value: object) -> float | None:
    """A deadline header's value as seconds since the epoch; None when absent or unreadable."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def retry_delay(attempt: int, first: float, factor: float, longest: float) -> float:
    """Seconds before delivery ``attempt + 1``, after ``attempt`` failed: exponential, capped."""
    if first <= 0:
        return 0.0
    # Bounded exponent: factor ** 1000 would overflow a float long after the cap.
    growth = factor ** min(max(attempt - 1, 0), 64)
    return min(first * growth, longest)


def jittered(delay: float, jitter: float) -> float:
    """``delay`` stretched by a random share of up to ``jitter`` (never shortened).

    Only upward: the configured delay stays the least a failed message waits.
    """
    if jitter <= 0 or delay <= 0:
        return delay
    return delay * (1 + random.random() * jitter)  # noqa: S311 - spreading retries, not secrets


@contextlib.contextmanager
def outgoing_context(
    runtime: Runtime, broker: str, destination: str, event: str
) -> Iterator[dict[str, str]]:
    """Headers a publish adds: ``traceparent`` of a producer span, and the deadline in force.

    The producer span is current inside the block (the publish happens there);
    with tracing off there is no span and no trace header.
    """
    extra: dict[str, str] = {}
    deadline = current_deadline()
    if deadline is not None:
        extra[DEADLINE_HEADER] = f"{deadline:.6f}"
    traces = runtime.tools.traces
    if not traces.enabled:
        yield extra
        return
    tracer = traces.tracer("lbtoolkit.messaging")
    attributes = {
        "messaging.system": broker,
        "messaging.destination.name": destination,
        "messaging.operation.type": "publish",
        "lbtoolkit.event": event,
    }
    with tracer.start_as_current_span(
        f"publish {event}", kind=SpanKind.PRODUCER, attributes=attributes
    ):
        propagate.inject(extra)
        yield extra


# One collector per registry: both plugins (or two instances of one) share it.
_COLLECTORS: WeakKeyDictionary[CollectorRegistry, RedCollector] = WeakKeyDictionary()


def _collector(registry: CollectorRegistry, namespace: str) -> RedCollector:
    found = _COLLECTORS.get(registry)
    if found is None:
        prefix = f"{namespace}_messaging" if namespace else "messaging"
        found = _COLLECTORS[registry] = RedCollector(
            prefix,
            ("broker", "publisher", "event"),
            requests_help="Messages consumed, by broker, publisher, event and outcome "
            "(ok, error: the handler raised, expired: past the producer's deadline)",
            duration_help="Time to handle a consumed message, by broker, publisher and event",
            in_flight_help="Messages being handled, by broker, publisher and event",
            series_type=MethodMetrics,
        )
        registry.register(found)
    return found


class Consumer:
    """Runs a subscription's handler as a request: scope, span, metrics and deadline.

    One per plugin instance; the subscriptions call :meth:`handle` for each
    message and settle it by the outcome it returns.
    """

    def __init__(self, runtime: Runtime, broker: str, log: logging.Logger) -> None:
        self._injector = runtime.injector
        self._container: AsyncContainer | None = None  # the service's, once built
        self._traces = runtime.tools.traces
        metrics = runtime.tools.metrics
        self._collector = _collector(metrics.registry, metrics.namespace)
        self._broker = broker
        self._log = log

    def metrics(self, publisher: str, event: str) -> MethodMetrics:
        """The series of one subscription, its outcomes starting at zero."""
        series = self._collector.series(self._broker, publisher, event)
        assert isinstance(series, MethodMetrics)  # noqa: S101 - the collector's series_type
        for code in OUTCOMES:
            series.codes.setdefault(code, 0)
        return series

    def expired(self, delivery: Delivery, series: MethodMetrics) -> bool:
        """Whether ``delivery`` is past its producer's deadline (counted as ``expired``)."""
        deadline = delivery.deadline
        if deadline is None or time.time() < deadline:
            return False
        series.record(EXPIRED, 0.0)
        return True

    async def handle(
        self, handler: Handler, delivery: Delivery, series: MethodMetrics, destination: str
    ) -> Exception | None:
        """Run ``handler``; return what it raised (None when it returned)."""
        scope = delivery.scope
        token = _deadline.set(delivery.deadline)
        span = self._start_span(delivery, destination) if self._traces.enabled else None
        series.begin()
        started = time.perf_counter()
        failure: Exception | None = None
        returned = False
        try:
            await handler(delivery)
            returned = True
        except Exception as error:  # noqa: BLE001 - any handler error means "not processed"
            failure = error
        finally:
            # Cancelled (stop ran out of time) counts as an error too: the message comes again.
            series.end(OK if returned else FAILED, time.perf_counter() - started)
            _deadline.reset(token)
            if span is not None:
                _end_span(span, failure)
            if scope is not None and scope.opened:
                try:
                    await scope.close()
                except Exception:  # noqa: BLE001 - a finalizer's bug is logged, the message settled
                    self._log.exception(
                        "closing the request scope of %s/%s failed",
                        delivery.service,
                        delivery.event,
                    )
        return failure

    def scope(self) -> MessageScope | None:
        """A request scope for one delivery, which :meth:`handle` closes; None outside a service.

        Built with the delivery, not copied into it by :meth:`handle`: a
        dataclass copy per message cost more than the rest of the bookkeeping.
        """
        container = self._container
        if container is None:
            try:
                container = self._container = self._injector.container
            except RuntimeError:
                return None  # a plugin used outside a service: no container to open a scope of
        return MessageScope(container)

    def _start_span(self, delivery: Delivery, destination: str) -> _Span:
        carrier = {k: v for k, v in delivery.headers.items() if isinstance(v, str)}
        parent = propagate.extract(carrier)
        producer = trace.get_current_span(parent).get_span_context()
        links = [Link(producer)] if producer.is_valid else None
        attributes: dict[str, str | int] = {
            "messaging.system": self._broker,
            "messaging.destination.name": destination,
            "messaging.operation.type": "process",
            "messaging.message.id": delivery.message_id or "",
            "lbtoolkit.publisher": delivery.service,
            "lbtoolkit.event": delivery.event,
            "lbtoolkit.attempt": delivery.attempt,
        }
        tracer = self._traces.tracer("lbtoolkit.messaging")
        span = tracer.start_span(
            f"process {delivery.event}",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=attributes,
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        return _Span(span, token)


@dataclass(frozen=True, slots=True)
class _Span:
    span: trace.Span
    token: Token[otel_context.Context]


def _end_span(current: _Span, failure: Exception | None) -> None:
    span = current.span
    if failure is not None:
        span.record_exception(failure)
        span.set_status(Status(StatusCode.ERROR, type(failure).__name__))
    otel_context.detach(current.token)
    span.end()


Handler = Callable[[Delivery], Awaitable[object]]
"""An async function taking a :class:`Delivery`; raising means "not processed"."""

BytesHandler = Callable[[bytes], Awaitable[object]]
"""An async function taking the payload, as the guide's ``func([]byte) error``."""

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_EMPTY = inspect.Parameter.empty


def as_delivery_handler(
    handler: Handler | BytesHandler, refuse: Callable[[str, str], Exception]
) -> Handler:
    """``handler`` as a delivery handler, by its first parameter's annotation.

    A handler that is not async, or of neither shape, raises
    ``refuse(handler_name, problem)``, the plugin's own error naming the
    subscription.
    """
    if not _is_async(handler):
        # Refused here, not at the first message: awaiting its result would
        # fail every delivery, each one retried and dead-lettered in turn.
        raise refuse(
            _handler_name(handler), "it is not async (each message is awaited): make it async def"
        )
    first = _first_parameter(handler)
    annotation = _EMPTY if first is None else _annotation(handler, first)
    shape = _shape(annotation)
    if shape is Delivery:
        return typing.cast("Handler", handler)
    if shape is bytes:
        on_payload = typing.cast("BytesHandler", handler)

        async def on_delivery(delivery: Delivery) -> object:
            return await on_payload(delivery.data)

        return on_delivery
    if first is None:
        problem = "it takes no positional parameter"
    elif annotation is _EMPTY:
        problem = f"its first parameter {first.name!r} has no annotation"
    else:
        problem = f"its first parameter {first.name!r} is annotated {_type_name(annotation)}"
    raise refuse(_handler_name(handler), problem)


def _is_async(handler: object) -> bool:
    """Whether calling ``handler`` returns a coroutine, as far as can be told without calling it.

    An ``async def`` function counts, so do partials and bound methods of one,
    callables marked with ``inspect.markcoroutinefunction`` (Python 3.12+) and objects whose
    ``__call__`` is an ``async def`` method.
    """
    target = handler
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.iscoroutinefunction(target):
        return True
    if inspect.isroutine(target) or isinstance(target, type):
        return False
    return inspect.iscoroutinefunction(getattr(target, "__call__", None))  # noqa: B004 - its own __call__


def _first_parameter(handler: Callable[..., object]) -> inspect.Parameter | None:
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return None
    return next((p for p in parameters if p.kind in _POSITIONAL), None)


def _annotation(handler: Callable[..., object], parameter: inspect.Parameter) -> object:
    """The parameter's annotation, resolved when it can be (text when it cannot)."""
    target: object = handler.func if isinstance(handler, functools.partial) else handler
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "__call__", target)  # noqa: B004 - an instance's own __call__
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError):
        # A name imported for type checking only: the annotation stays text.
        hints = {}
    return hints.get(parameter.name, parameter.annotation)


def _shape(annotation: object) -> object:
    """``bytes``, ``Delivery`` or None, from an annotation resolved or left as text."""
    if isinstance(annotation, str):
        return {"bytes": bytes, "Delivery": Delivery}.get(annotation.rpartition(".")[2])
    return annotation if annotation is bytes or annotation is Delivery else None


def _handler_name(handler: object) -> str:
    """A partial by the function it wraps: "functools.partial" alone names nothing."""
    if isinstance(handler, functools.partial):
        return f"functools.partial({_handler_name(handler.func)}, ...)"
    return qualified_name(handler)


def _type_name(value: object) -> str:
    """An annotation left as text is shown as written."""
    return value if isinstance(value, str) else qualified_name(value)
