"""One gRPC method handler per RPC, wrapped once when the server is built.

Each handler does, per call: the server's count of running calls (which the
drain waits on), in-flight gauge and latency clock, the request
context (only when the implementation or an interceptor takes one), the
call, status mapping on error, the request counter, and a server span only
when tracing is on. Each request message, every one of a client stream's
too, is checked against its validation rules before the implementation sees it
(unless ``{PREFIX}_VALIDATION_ENABLED`` is false). Everything that can be
decided in advance (which shape, whether a context is needed, which metric
series) is decided here, once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from lbtoolkit.client import bind_incoming_call
from lbtoolkit.server._context import CallSite, RequestContext, close_request_scope
from lbtoolkit.server._validation import RequestCheck, request_check
from lbtoolkit.server.grpc._interceptors import Handler, Interceptor, chain
from lbtoolkit.server.grpc._status import failure_of

if TYPE_CHECKING:
    from dishka import AsyncContainer
    from opentelemetry.trace import Tracer

    from lbtoolkit.server.grpc._drain import CallTracker
    from lbtoolkit.spec import MethodSpec, ServiceSpec
    from lbtoolkit.tools import Outages, Traces
    from lbtoolkit.tools._request_metrics import MethodMetrics, RequestMetrics
    from lbtoolkit.tools._traces import ServerSpan

__all__ = ["build_handlers"]

log = logging.getLogger("lbtoolkit.server.grpc")

Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[..., Any]

_REQUEST_AND_CONTEXT = 2

# Codes that mean the server failed (OpenTelemetry's rule for gRPC server spans).
_SERVER_FAULTS = frozenset(
    {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
)


def metadata_of(context: Context) -> dict[str, str]:
    """The call's text metadata (keys are lower-case on the wire; ``-bin`` values stay out)."""
    pairs = context.invocation_metadata() or ()
    return {key: value for key, value in pairs if isinstance(value, str)}


@dataclass(frozen=True, slots=True)
class _Tracing:
    traces: Traces
    tracer: Tracer
    name: str
    attributes: dict[str, str]

    def start(self, context: Context) -> ServerSpan:
        return self.traces.start_server_span(
            self.tracer, self.name, metadata_of(context), self.attributes
        )


def build_handlers(
    spec: ServiceSpec,
    implementation: object,
    *,
    server: str,
    interceptors: Sequence[Interceptor],
    metrics: RequestMetrics,
    traces: Traces,
    container: AsyncContainer,
    tracker: CallTracker,
    outages: Outages | None = None,
    validation: bool = True,
) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """The method handlers of ``spec`` answered by ``implementation``, by method name.

    ``outages`` tells a plugin's outage (answered UNAVAILABLE) from a bug (INTERNAL);
    ``validation`` whether requests are checked against their rules first.
    """
    tracer = traces.tracer("lbtoolkit.server.grpc") if traces.enabled else None
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in spec.grpc_methods:
        fn = getattr(implementation, method.handler)
        takes_context = _takes_context(fn)
        call = chain(interceptors, _adapt(fn, method, takes_context=takes_context))
        tracing = None
        if tracer is not None:
            attributes = {
                "rpc.system": "grpc",
                "rpc.service": spec.full_name,
                "rpc.method": method.name,
            }
            tracing = _Tracing(traces, tracer, method.grpc_path.lstrip("/"), attributes)
        site = (
            CallSite(method.grpc_path, "grpc", container, metadata_of)
            if takes_context or interceptors
            else None
        )
        prepared = _Call(method.grpc_path, call, site, tracing, outages)
        check = request_check(method.request_type, enabled=validation)
        if check is not None:
            prepared.check = _each_of(check) if method.client_streaming else check
        bound = metrics.bind(server, method.grpc_path, codes=("OK",))
        shape = _streaming if method.server_streaming else _unary
        behavior = shape(prepared, bound, tracker)
        factory = _FACTORIES[method.client_streaming, method.server_streaming]
        handlers[method.name] = factory(
            behavior,
            request_deserializer=method.request_type.FromString,
            response_serializer=method.response_type.SerializeToString,
        )
    return handlers


def _takes_context(fn: Callable[..., Any]) -> bool:
    """Whether ``fn(request, context)`` rather than ``fn(request)``: read once, here."""
    parameters = inspect.signature(fn).parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= _REQUEST_AND_CONTEXT or any(
        p.kind is p.VAR_POSITIONAL for p in parameters
    )


def _adapt(fn: Callable[..., Any], method: MethodSpec, *, takes_context: bool) -> Handler:
    """``fn`` as a ``Handler``: awaitable, and returning the iterator of a stream."""
    if method.server_streaming and inspect.isasyncgenfunction(fn):
        if takes_context:

            async def stream(request: Any, context: RequestContext) -> Any:
                return fn(request, context)

            return stream

        async def stream_without_context(request: Any, context: RequestContext) -> Any:  # noqa: ARG001
            return fn(request)

        return stream_without_context
    if takes_context:
        return fn  # already ``async def fn(request, context)``

    def without_context(request: Any, context: RequestContext) -> Any:  # noqa: ARG001
        return fn(request)

    return without_context


def _each_of(check: RequestCheck) -> Callable[[Any], Any]:
    """``check`` for a client stream: each message, as the implementation reads it."""

    async def checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request in requests:
            check(request)
            yield request

    return checked


def _end_span(span: ServerSpan, code: str) -> None:
    span.span.set_attribute("rpc.grpc.status_code", grpc.StatusCode[code].value[0])
    span.end()


def _fail_span(span: ServerSpan | None, code: str, message: str, error: BaseException) -> None:
    if span is not None and code in _SERVER_FAULTS:
        span.fail(f"{code}: {message}" if message else code, error if code == "INTERNAL" else None)


class _Call:
    """What both behaviour shapes share, bound once per method.

    ``site`` is ``None`` when neither the implementation nor an interceptor
    takes a context: then none is made. ``check`` validates the request (or
    wraps a client stream so each message is), ``None`` when validation is off.
    """

    __slots__ = ("call", "check", "outages", "path", "site", "tracing")

    def __init__(
        self,
        path: str,
        call: Handler,
        site: CallSite | None,
        tracing: _Tracing | None,
        outages: Outages | None,
    ) -> None:
        self.path = path
        self.call = call
        self.site = site
        self.tracing = tracing
        self.outages = outages
        self.check: Callable[[Any], Any] | None = None


def _unary(prepared: _Call, metrics: MethodMetrics, tracker: CallTracker) -> Behavior:
    path, call, site, tracing, outages, check = (
        prepared.path,
        prepared.call,
        prepared.site,
        prepared.tracing,
        prepared.outages,
        prepared.check,
    )
    new_context = site.context if site is not None else None
    record = metrics.record

    async def behavior(request: Any, context: Context) -> Any:
        bind_incoming_call(context)  # calls to other services inherit its deadline and headers
        span = tracing.start(context) if tracing is not None else None
        # grpc's peer is read now: it is gone once the call ends.
        request_context = new_context(context, context.peer()) if new_context is not None else None
        tracker.running += 1
        metrics.in_flight += 1
        started = perf_counter()
        code = "OK"
        try:
            if check is not None:
                # A stream comes back wrapped: its messages are checked as they are read.
                request = check(request) or request
            return await call(request, request_context)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except Exception as error:
            failure = failure_of(error, path, context, outages)
            code = failure.code.name
            _fail_span(span, code, failure.message, error)
            if failure.abort:
                await context.abort(failure.code, failure.message, failure.trailers)
            raise
        finally:
            tracker.running -= 1
            if tracker.draining and not tracker.running:
                tracker.idle.set()
            metrics.in_flight -= 1
            record(code, perf_counter() - started)
            if request_context is not None and request_context.scope_opened:
                await close_request_scope(request_context, log)
            if span is not None:
                _end_span(span, code)

    return behavior


def _streaming(prepared: _Call, metrics: MethodMetrics, tracker: CallTracker) -> Behavior:
    path, call, site, tracing, outages, check = (
        prepared.path,
        prepared.call,
        prepared.site,
        prepared.tracing,
        prepared.outages,
        prepared.check,
    )
    new_context = site.context if site is not None else None
    record = metrics.record

    async def behavior(request: Any, context: Context) -> AsyncIterator[Any]:
        bind_incoming_call(context)
        span = tracing.start(context) if tracing is not None else None
        request_context = new_context(context, context.peer()) if new_context is not None else None
        tracker.running += 1
        metrics.in_flight += 1
        started = perf_counter()
        code = "OK"
        try:
            if check is not None:
                request = check(request) or request
            responses = await call(request, request_context)  # type: ignore[arg-type]
            async for response in responses:
                yield response
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except Exception as error:
            failure = failure_of(error, path, context, outages)
            code = failure.code.name
            _fail_span(span, code, failure.message, error)
            if failure.abort:
                await context.abort(failure.code, failure.message, failure.trailers)
            raise
        finally:
            tracker.running -= 1
            if tracker.draining and not tracker.running:
                tracker.idle.set()
            metrics.in_flight -= 1
            record(code, perf_counter() - started)
            if request_context is not None and request_context.scope_opened:
                await close_request_scope(request_context, log)
            if span is not None:
                _end_span(span, code)

    return behavior


_FACTORIES: dict[tuple[bool, bool], Callable[..., grpc.RpcMethodHandler[Any, Any]]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}
