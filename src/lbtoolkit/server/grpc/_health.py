"""The standard ``grpc.health.v1.Health`` service, following the lifecycle.

NOT_SERVING until the service has fully started, SERVING while it runs,
NOT_SERVING again from the first step of stop. Unlike grpcio-health-checking's
servicer, ``Watch`` streams end once shutdown began (after sending
NOT_SERVING), so an idle watcher never holds the drain for the full timeout;
and status changes are synchronous, so the lifecycle's readiness flag can
drive them directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["HealthService"]

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthService(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    """Health of the server (``""``) and of each service it serves, all alike."""

    def __init__(self, services: Iterable[str]) -> None:
        self._status = dict.fromkeys(("", *services), _NOT_SERVING)
        self._changed = asyncio.Event()
        self._closed = False

    def set_serving(self, serving: bool) -> None:
        """Report every service SERVING or NOT_SERVING (ignored once shut down)."""
        if self._closed:
            return
        for name in self._status:
            self._status[name] = _SERVING if serving else _NOT_SERVING
        self._notify()

    def shutdown(self) -> None:
        """NOT_SERVING for good; open ``Watch`` streams send it and end."""
        self.set_serving(serving=False)
        self._closed = True
        self._notify()

    def status(self, service: str = "") -> str:
        """The status name of ``service`` (``"SERVICE_UNKNOWN"`` when not served)."""
        name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(
            self._status.get(service, _UNKNOWN)
        )
        return name

    async def Check(  # noqa: N802 - the generated servicer's method name
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthCheckResponse:
        status = self._status.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(  # noqa: N802 - the generated servicer's method name
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        del context
        last = None
        while True:
            changed = self._changed
            status = self._status.get(request.service, _UNKNOWN)
            if status != last:
                yield health_pb2.HealthCheckResponse(status=status)
                last = status
            if self._closed:
                return
            await changed.wait()

    def _notify(self) -> None:
        # Wake every watcher once, then give the next change a fresh event.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
