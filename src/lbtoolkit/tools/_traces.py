"""Tracing with OpenTelemetry, configured by the standard ``OTEL_*`` variables.

No exporter configured means no tracing at all: :attr:`Traces.enabled` is
false and the transports skip span handling entirely, so an untraced service
pays nothing per request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from lbtoolkit._exceptions import LbToolkitError

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.util.types import Attributes

__all__ = ["ServerSpan", "Traces", "TracingConfigError"]

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class TracingConfigError(LbToolkitError, ValueError):
    """``OTEL_TRACES_EXPORTER`` names an exporter that is not installed."""

    def __init__(self, exporter: str, installed: list[str]) -> None:
        super().__init__(exporter, installed)
        self.exporter = exporter
        self.installed = installed

    def __str__(self) -> str:
        known = ", ".join(self.installed) or "none"
        hint = (
            "pip install opentelemetry-exporter-otlp"
            if self.exporter.startswith("otlp")
            else f"install the package that provides the {self.exporter!r} span exporter"
        )
        return (
            f"OTEL_TRACES_EXPORTER: no span exporter named {self.exporter!r} is installed "
            f"(installed: {known})\nHint: {hint}, or unset OTEL_TRACES_EXPORTER"
        )


class ServerSpan:
    """The span of one incoming request, current until :meth:`end`."""

    __slots__ = ("_token", "span")

    def __init__(self, span: Span, token: Token[Context]) -> None:
        self.span = span
        self._token = token

    def fail(self, description: str, error: BaseException | None = None) -> None:
        """Mark the request failed; ``error`` is recorded when it was unexpected."""
        if error is not None:
            self.span.record_exception(error)
        self.span.set_status(Status(StatusCode.ERROR, description))

    def end(self) -> None:
        otel_context.detach(self._token)
        self.span.end()


class Traces:
    """Tracers named after the service, and the server spans of the transports.

    The provider is chosen once, on first use: the one given to
    :meth:`use_provider`; else, when ``OTEL_TRACES_EXPORTER`` names exporters
    (or an ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set, meaning ``otlp``), an SDK
    provider exporting to them in batches; else a provider the process
    already installed globally (``opentelemetry-instrument``); else none.
    ``OTEL_TRACES_EXPORTER=none`` and ``OTEL_SDK_DISABLED=true`` turn tracing off.
    """

    def __init__(self, service_name: str, version: str | None = None) -> None:
        self.service_name = service_name
        self.version = version
        self._provider: trace.TracerProvider | None = None
        self._owned: SdkTracerProvider | None = None
        self._decided = False

    def use_provider(self, provider: trace.TracerProvider | None) -> None:
        """Trace through ``provider`` (``None``: no tracing), whatever the environment says."""
        self._provider = provider
        self._decided = True

    def configure(self, environ: Mapping[str, str] | None = None) -> None:
        """Choose the provider from ``OTEL_*`` variables (default: the process's)."""
        env = os.environ if environ is None else environ
        self._decided = True
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            self._provider = None
            return
        names = [n.strip() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
        if not names and any(env.get(name) for name in _ENDPOINTS):
            names = ["otlp"]
        if "none" in names:
            self._provider = None
        elif names:
            self._provider = self._owned = self._build(names, env)
        else:
            installed = trace.get_tracer_provider()
            proxies = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
            self._provider = None if isinstance(installed, proxies) else installed

    @property
    def enabled(self) -> bool:
        """Whether requests are traced."""
        if not self._decided:
            self.configure()
        return self._provider is not None

    def tracer(self, name: str | None = None) -> trace.Tracer:
        """A tracer (a no-op one when tracing is off)."""
        if self.enabled and self._provider is not None:
            return self._provider.get_tracer(name or self.service_name)
        return trace.get_tracer(name or self.service_name)

    def start_server_span(
        self,
        tracer: trace.Tracer,
        name: str,
        carrier: Mapping[str, str],
        attributes: Attributes = None,
    ) -> ServerSpan:
        """Open the span of an incoming request whose headers are ``carrier``.

        The parent comes from the headers (``traceparent`` by default; the
        propagators follow ``OTEL_PROPAGATORS``) and the span is made current,
        so spans opened by the handler and its plugins become its children.
        """
        parent = propagate.extract(carrier)
        span = tracer.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        return ServerSpan(span, token)

    def shutdown(self) -> None:
        """Flush and close the provider this object built (not one given to it)."""
        if self._owned is not None:
            self._owned.shutdown()
            self._owned = None

    def _build(self, names: list[str], env: Mapping[str, str]) -> SdkTracerProvider:
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - only when tracing
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        exporters = [_exporter(name) for name in names]
        attributes: dict[str, str] = {}
        if not env.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = self.service_name
        if self.version:
            attributes["service.version"] = self.version
        provider = TracerProvider(resource=Resource.create(attributes))
        for exporter in exporters:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            # Instrumentation libraries trace through the global provider: share ours.
            trace.set_tracer_provider(provider)
        return provider


def _exporter(name: str) -> SpanExporter:
    found = entry_points(group="opentelemetry_traces_exporter", name=name)
    for entry in found:
        exporter: SpanExporter = entry.load()()
        return exporter
    installed = sorted(e.name for e in entry_points(group="opentelemetry_traces_exporter"))
    raise TracingConfigError(name, installed)
