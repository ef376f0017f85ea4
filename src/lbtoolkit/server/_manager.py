"""The server registry: declared service specs and the servers that listen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dishka import AsyncContainer

    from lbtoolkit.server._spec import ServiceSpec

__all__ = ["Server", "ServerManager"]


class Server(Protocol):
    """What the lifecycle needs from a transport server."""

    @property
    def name(self) -> str: ...

    async def prepare(self, container: AsyncContainer) -> None:
        """Build handlers (their classes come from dependency injection)."""

    async def start(self) -> None:
        """Return once the server listens."""

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - a drain deadline, not a cancel
        """Stop accepting, let in-flight requests finish within ``timeout`` seconds."""


class ServerManager:
    """``service.server``: what the .proto declares and what listens.

    ``tool_servers`` (probes, metrics) start before and stop after the
    service's own servers, so the platform sees readiness the whole time.
    """

    def __init__(self) -> None:
        self._specs: list[ServiceSpec] = []
        self._servers: list[Server] = []
        self._tool_servers: list[Server] = []

    def declare(self, spec: ServiceSpec) -> None:
        """Record a service declared in a .proto file (generated code calls this)."""
        self._specs.append(spec)

    @property
    def declared(self) -> tuple[ServiceSpec, ...]:
        return tuple(self._specs)

    def add(self, server: Server, *, tool: bool = False) -> None:
        """Add a server the lifecycle starts and stops."""
        (self._tool_servers if tool else self._servers).append(server)

    @property
    def servers(self) -> tuple[Server, ...]:
        return tuple(self._servers)

    @property
    def tool_servers(self) -> tuple[Server, ...]:
        return tuple(self._tool_servers)
