"""A typed channel: the four gRPC call shapes with protobuf messages in and out."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from time import perf_counter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import grpc
import grpc.aio
from google.protobuf import descriptor_pool
from google.protobuf.message import Message
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from lbtoolkit.client._errors import ClientCallError
from lbtoolkit.client._incoming import _incoming

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    from opentelemetry.trace import Span, Tracer

    from lbtoolkit.client._metrics import ClientMetrics
    from lbtoolkit.tools._request_metrics import MethodMetrics

__all__ = ["Channel", "ChannelSettings", "GrpcChannel", "RetrySettings", "service_config"]

ResponseT = TypeVar("ResponseT", bound=Message)
_Metadata = tuple[tuple[str, str], ...]
# A status's number by its name, as the rpc.grpc.status_code span attribute gives it.
_STATUS_NUMBERS = {code.name: code.value[0] for code in grpc.StatusCode}


class Channel(Protocol):
    """Calls methods of one remote service; generated clients sit on top.

    ``method`` is the full gRPC path (``/package.Service/Method``),
    ``rpc_timeout`` the seconds the call may take (sent as the gRPC deadline,
    so the server stops working on it too), ``metadata`` extra headers.
    """

    async def unary_unary(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT: ...

    def unary_stream(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]: ...

    async def stream_unary(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT: ...

    def stream_stream(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """gRPC's ``retryPolicy`` and ``retryThrottling``, as the service config spells them."""

    max_attempts: int = 3
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    backoff_multiplier: float = 2.0
    codes: tuple[str, ...] = ("UNAVAILABLE",)
    idempotent_codes: tuple[str, ...] = ("UNAVAILABLE", "ABORTED", "RESOURCE_EXHAUSTED")
    budget_tokens: int = 100
    budget_token_ratio: float = 0.1


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """What every channel of a pool shares; the defaults are a bare channel's."""

    timeout: float | None = None
    retry: RetrySettings | None = None
    max_receive_message_size: int | None = None
    max_send_message_size: int | None = None
    credentials: grpc.ChannelCredentials | None = None
    server_name: str = ""
    interceptors: tuple[grpc.aio.ClientInterceptor, ...] = ()
    propagate_headers: tuple[str, ...] = ("x-request-id",)
    tracer: Tracer | None = None
    metrics: ClientMetrics | None = None
    close_grace: float = 15.0
    extra_options: tuple[tuple[str, Any], ...] = field(default=())


class _Method:
    """One method's multicallable, metric series and span attributes, made on its first call."""

    __slots__ = ("attributes", "call", "metrics", "name")

    def __init__(self, call: Any, metrics: MethodMetrics | None, name: str, peer: str) -> None:
        self.call = call
        self.metrics = metrics
        self.name = name
        service, _, method = name.partition("/")
        # Shared by every span of the method: read-only, since the SDK keeps a copy.
        self.attributes = MappingProxyType(
            {
                "rpc.system": "grpc",
                "rpc.service": service,
                "rpc.method": method,
                "peer.service": peer,
            }
        )


class GrpcChannel:
    """A ``Channel`` over ``grpc.aio``; the connection opens on the first call.

    ``target`` is any gRPC target; ``resolve``, when given, finds it on the
    first call instead (and raises :class:`ClientCallError` while the service
    is unknown). Every call gets the default deadline of ``settings``,
    shortened to what is left of the deadline of the request being served;
    the metadata named in ``settings.propagate_headers`` is copied from that
    request. The channel's service config asks for ``round_robin`` and for
    gRPC's own retries of the proto services called through it; a method
    whose descriptor says ``idempotency_level = IDEMPOTENT`` or
    ``NO_SIDE_EFFECTS`` is retried on more codes. :meth:`retarget` swaps in
    a channel to new addresses, closing the old one once its calls end.
    """

    def __init__(
        self,
        target: str,
        *,
        channel: grpc.aio.Channel | None = None,
        settings: ChannelSettings | None = None,
        service: str | None = None,
        resolve: Callable[[], Awaitable[str]] | None = None,
        settings_provider: Callable[[], ChannelSettings] | None = None,
    ) -> None:
        self.target = target
        self.service = service or target
        self.settings = settings or ChannelSettings()
        # Settings fixed by the first call, not at construction: interceptors
        # and tracing may still be set up between the two.
        self._settings_provider = settings_provider
        self._channel = channel
        self._given = channel is not None
        self._resolve = resolve
        self._calls: dict[str, _Method] = {}
        self._proto_services: dict[str, None] = {}
        self._lock: asyncio.Lock | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"GrpcChannel({self.target!r})"

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._settings_provider is not None:
            self.settings, self._settings_provider = self._settings_provider(), None
        if self._channel is None:
            self._channel = self._open(self.target)
        return self._channel

    # -- opening and swapping ------------------------------------------------
    def _open(self, target: str) -> grpc.aio.Channel:
        settings = self.settings
        options: list[tuple[str, Any]] = [
            ("grpc.service_config", service_config(list(self._proto_services), settings.retry)),
            ("grpc.enable_retries", 1 if settings.retry is not None else 0),
        ]
        if settings.max_receive_message_size is not None:
            options.append(("grpc.max_receive_message_length", settings.max_receive_message_size))
        if settings.max_send_message_size is not None:
            options.append(("grpc.max_send_message_length", settings.max_send_message_size))
        if settings.server_name:
            options.append(("grpc.ssl_target_name_override", settings.server_name))
        options += settings.extra_options
        interceptors = list(settings.interceptors) or None
        if settings.credentials is not None:
            return grpc.aio.secure_channel(
                target, settings.credentials, options=options, interceptors=interceptors
            )
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)

    async def _prepare(self, shape: str, method: str, response_type: type[Message]) -> _Method:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            prepared = self._calls.get(method)
            if prepared is not None:
                return prepared
            if self._settings_provider is not None:
                self.settings, self._settings_provider = self._settings_provider(), None
            proto_service = method.lstrip("/").partition("/")[0]
            if self._channel is None or (
                not self._given and proto_service not in self._proto_services
            ):
                if self._channel is None and self._resolve is not None:
                    self.target = await self._resolve()
                # A new proto service needs its methods in the service config:
                # the channel is replaced once, on its first call.
                self._proto_services[proto_service] = None
                self._replace(self._open(self.target))
            channel = self.channel
            call = getattr(channel, shape)(
                method,
                request_serializer=_serialize,
                response_deserializer=response_type.FromString,
            )
            metrics = self.settings.metrics
            prepared = self._calls[method] = _Method(
                call,
                metrics.bind(self.service, method) if metrics is not None else None,
                method.lstrip("/"),
                self.service,
            )
            return prepared

    def _replace(self, channel: grpc.aio.Channel | None) -> None:
        old, self._channel = self._channel, channel
        # Multicallables belong to their channel; calls under way keep theirs.
        self._calls.clear()
        if old is not None:
            task = asyncio.get_running_loop().create_task(old.close(self.settings.close_grace))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def retarget(self, target: str) -> None:
        """Send new calls to ``target``; the old channel closes once its calls end."""
        if target == self.target and self._channel is not None:
            return
        self.target = target
        self._resolve = None
        if self._channel is not None:
            self._replace(self._open(target))

    def unresolve(self, resolve: Callable[[], Awaitable[str]]) -> None:
        """Find the target again on the next call (the service has no address now)."""
        self._resolve = resolve
        if self._channel is not None:
            self._replace(None)

    # -- per call ------------------------------------------------------------
    def _outgoing(
        self, rpc_timeout: float | None, metadata: Mapping[str, str] | None, method: str
    ) -> tuple[float | None, list[tuple[str, str]]]:
        timeout = rpc_timeout if rpc_timeout is not None else self.settings.timeout
        pairs: list[tuple[str, str]] = []
        incoming = _incoming.get()
        if incoming is not None:
            remaining = incoming.time_remaining()
            if remaining is not None:
                if remaining <= 0:
                    message = (
                        f"{method} to service {self.service!r} not started: "
                        "the deadline of the request being served has passed"
                    )
                    raise ClientCallError(grpc.StatusCode.DEADLINE_EXCEEDED, message)
                if timeout is None or remaining < timeout:
                    timeout = remaining
            propagate_headers = self.settings.propagate_headers
            for key, value in incoming.invocation_metadata() or ():
                if key in propagate_headers and isinstance(value, str):
                    pairs.append((key, value))
        if metadata:
            given = {key.lower() for key in metadata}
            pairs = [pair for pair in pairs if pair[0] not in given]
            pairs += [(key.lower(), value) for key, value in metadata.items()]
        return timeout, pairs

    def _begin(self, prepared: _Method, pairs: list[tuple[str, str]]) -> Span | None:
        if prepared.metrics is not None:
            prepared.metrics.begin()
        tracer = self.settings.tracer
        if tracer is None:
            return None
        span = tracer.start_span(
            prepared.name, kind=SpanKind.CLIENT, attributes=prepared.attributes
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        pairs += carrier.items()
        return span

    @staticmethod
    def _end(prepared: _Method, span: Span | None, code: str, started: float) -> None:
        if prepared.metrics is not None:
            prepared.metrics.end(code, perf_counter() - started)
        if span is not None:
            span.set_attribute("rpc.grpc.status_code", _STATUS_NUMBERS[code])
            if code != "OK":
                span.set_status(Status(StatusCode.ERROR, code))
            span.end()

    async def unary_unary(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT:
        prepared = self._calls.get(method) or await self._prepare(
            "unary_unary", method, response_type
        )
        timeout, pairs = self._outgoing(rpc_timeout, metadata, method)
        span = self._begin(prepared, pairs)
        started, code = perf_counter(), "OK"
        try:
            response: ResponseT = await prepared.call(
                request, timeout=timeout, metadata=tuple(pairs) or None
            )
        except BaseException as error:
            code = _code_of(error)
            raise
        finally:
            self._end(prepared, span, code, started)
        return response

    async def unary_stream(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]:
        prepared = self._calls.get(method) or await self._prepare(
            "unary_stream", method, response_type
        )
        timeout, pairs = self._outgoing(rpc_timeout, metadata, method)
        span = self._begin(prepared, pairs)
        started, code = perf_counter(), "OK"
        try:
            async for response in prepared.call(
                request, timeout=timeout, metadata=tuple(pairs) or None
            ):
                yield response
        except BaseException as error:
            code = _code_of(error)
            raise
        finally:
            self._end(prepared, span, code, started)

    async def stream_unary(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ResponseT:
        prepared = self._calls.get(method) or await self._prepare(
            "stream_unary", method, response_type
        )
        timeout, pairs = self._outgoing(rpc_timeout, metadata, method)
        span = self._begin(prepared, pairs)
        started, code = perf_counter(), "OK"
        try:
            response: ResponseT = await prepared.call(
                requests, timeout=timeout, metadata=tuple(pairs) or None
            )
        except BaseException as error:
            code = _code_of(error)
            raise
        finally:
            self._end(prepared, span, code, started)
        return response

    async def stream_stream(
        self,
        method: str,
        requests: AsyncIterator[Message],
        response_type: type[ResponseT],
        *,
        rpc_timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ResponseT]:
        prepared = self._calls.get(method) or await self._prepare(
            "stream_stream", method, response_type
        )
        timeout, pairs = self._outgoing(rpc_timeout, metadata, method)
        span = self._begin(prepared, pairs)
        started, code = perf_counter(), "OK"
        try:
            async for response in prepared.call(
                requests, timeout=timeout, metadata=tuple(pairs) or None
            ):
                yield response
        except BaseException as error:
            code = _code_of(error)
            raise
        finally:
            self._end(prepared, span, code, started)

    async def close(self) -> None:
        self._calls.clear()
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close(self.settings.close_grace)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _code_of(error: BaseException) -> str:
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code().name
    if isinstance(error, asyncio.CancelledError):
        return "CANCELLED"
    return "UNKNOWN"


def idempotent_methods(proto_service: str) -> list[str]:
    """The methods of ``proto_service`` marked ``IDEMPOTENT`` or ``NO_SIDE_EFFECTS``.

    Read from the default descriptor pool, which holds every ``_pb2`` module
    imported (a generated client imports its service's); a service not
    found there has none.
    """
    try:
        found = descriptor_pool.Default().FindServiceByName(proto_service)
    except KeyError:
        return []
    # The levels are read off the options message itself: importing descriptor_pb2
    # for them would cost every service close to a MiB, called or not.
    names = []
    for method in found.methods:
        options = method.GetOptions()
        if options.idempotency_level in (options.IDEMPOTENT, options.NO_SIDE_EFFECTS):
            names.append(method.name)
    return names


def service_config(proto_services: list[str], retry: RetrySettings | None) -> str:
    """The JSON service config of a channel calling ``proto_services``."""
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    if retry is None or retry.max_attempts < 2:  # noqa: PLR2004 - one attempt: no retry
        return json.dumps(config)

    def policy(codes: tuple[str, ...]) -> dict[str, Any]:
        return {
            "maxAttempts": retry.max_attempts,
            "initialBackoff": f"{retry.initial_backoff:.9f}s",
            "maxBackoff": f"{retry.max_backoff:.9f}s",
            "backoffMultiplier": retry.backoff_multiplier,
            "retryableStatusCodes": list(codes),
        }

    method_config: list[dict[str, Any]] = []
    if retry.codes and proto_services:
        names = [{"service": name} for name in proto_services]
        method_config.append({"name": names, "retryPolicy": policy(retry.codes)})
    if retry.idempotent_codes:
        names = [
            {"service": name, "method": method}
            for name in proto_services
            for method in idempotent_methods(name)
        ]
        if names:
            method_config.append({"name": names, "retryPolicy": policy(retry.idempotent_codes)})
    if method_config:
        config["methodConfig"] = method_config
        config["retryThrottling"] = {
            "maxTokens": retry.budget_tokens,
            "tokenRatio": retry.budget_token_ratio,
        }
    return json.dumps(config)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
