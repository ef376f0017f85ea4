"""Tracing through OpenTelemetry's global provider (a no-op until one is configured)."""

from __future__ import annotations

from opentelemetry import trace

__all__ = ["Traces"]


class Traces:
    """Gives tracers named after the service."""

    def __init__(self, service_name: str) -> None:
        self.service_name = service_name

    def tracer(self, name: str | None = None) -> trace.Tracer:
        return trace.get_tracer(name or self.service_name)
