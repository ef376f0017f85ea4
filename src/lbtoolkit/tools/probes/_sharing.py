"""The probes server as the service runs it: own port, or shared with HTTP.

Settings live under the bare service prefix (``LB_PROBES_SERVER_PORT``). On
the gRPC server's port it cannot answer (HTTP/1.1 probes meet HTTP/2), so
that is an error at start; on the HTTP server's port its routes are added to
the HTTP server instead of binding a second listener. The transports are
known only by what sharing needs of them (:class:`ExclusivePort`,
:class:`HttpMount`): tools stand below the servers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from lbtoolkit.config import HttpPath, ListenAddress, Port, env
from lbtoolkit.tools._listen import ListenError, PortConflictError, blames_address
from lbtoolkit.tools.probes._server import Endpoint, ProbesServer

if TYPE_CHECKING:
    from dishka import AsyncContainer

    from lbtoolkit.config import ConfigController
    from lbtoolkit.tools._tools import Tools

__all__ = ["DEFAULT_PROBES_PORT", "ExclusivePort", "HttpMount", "ProbesConfig", "ProbesEndpoint"]

# Not 8080 (HTTP) nor 9000 (gRPC): the three servers coexist with defaults.
DEFAULT_PROBES_PORT = 8081


class ProbesConfig(BaseModel):
    """``{SERVICE_PREFIX}_PROBES_*``: where liveness, readiness and metrics are served."""

    enabled: bool | None = env(
        "PROBES_SERVER_ENABLED",
        default=None,
        comment="Serve probes and /metrics (unset: on when the service declares servers)",
    )
    listen: ListenAddress = env(
        "PROBES_SERVER_LISTEN",
        default="0.0.0.0",  # noqa: S104 - the kubelet probes from outside the pod
        comment="Address the probes server listens on",
    )
    port: Port = env(
        "PROBES_SERVER_PORT",
        default=DEFAULT_PROBES_PORT,
        comment="Probes server port; the HTTP server's port shares that server",
    )
    liveness_path: HttpPath = env(
        "PROBES_LIVENESS_PATH", default="/_healthz/liveness", comment="Liveness probe path"
    )
    readiness_path: HttpPath = env(
        "PROBES_READINESS_PATH", default="/_healthz/readiness", comment="Readiness probe path"
    )


class ExclusivePort(Protocol):
    """A server whose port the probes cannot share (gRPC speaks HTTP/2 only)."""

    @property
    def label(self) -> str: ...

    @property
    def port_variable(self) -> str: ...

    @property
    def disabled(self) -> bool: ...

    @property
    def port(self) -> int: ...


class HttpMount(Protocol):
    """What the probes need of an HTTP server to share its port."""

    @property
    def name(self) -> str: ...

    @property
    def port(self) -> int | None: ...

    def add_handler(self, method: str, path: str, handler: Endpoint) -> object: ...


class ProbesEndpoint:
    """The tool server the lifecycle starts before, and stops after, the others."""

    name = "probes"

    def __init__(
        self,
        config: ProbesConfig,
        tools: Tools,
        runtime_config: ConfigController,
        *,
        grpc: Callable[[], ExclusivePort | None],
        http: Callable[[], HttpMount | None],
    ) -> None:
        self.config = config
        self.server = ProbesServer(
            tools.probes,
            tools.metrics,
            listen=config.listen,
            port=config.port,
            liveness_path=config.liveness_path,
            readiness_path=config.readiness_path,
        )
        self.port_variable = runtime_config.variable_name("PROBES_SERVER_PORT")
        self.listen_variable = runtime_config.variable_name("PROBES_SERVER_LISTEN")
        self._grpc = grpc
        self._http = http
        self.shared_with: str | None = None
        # A worker of several: its supervisor answers the probes and /metrics for all.
        self.served_elsewhere = False

    @property
    def port(self) -> int:
        """The port probes answer on (the HTTP server's when shared)."""
        http = self._http()
        if self.shared_with is not None and http is not None and http.port is not None:
            return http.port
        return self.server.port

    async def prepare(self, container: AsyncContainer) -> None:
        """Check the port against the other servers; share the HTTP server's if it is the same."""
        port = self.config.port
        if port == 0 or self.served_elsewhere:  # port 0: never the same as another server's
            return
        grpc = self._grpc()
        if grpc is not None and not grpc.disabled and grpc.port == port:
            raise PortConflictError(
                "probes server", self.port_variable, port, grpc.label, grpc.port_variable
            )
        http = self._http()
        if http is not None and http.port == port:
            for method, path, endpoint in self.server.routes():
                http.add_handler(method, path, endpoint)
            self.shared_with = http.name
        await self.server.prepare(container)

    async def start(self) -> None:
        if self.shared_with is not None or self.served_elsewhere:
            return
        try:
            await self.server.start()
        except OSError as error:
            address = f"{self.config.listen}:{self.config.port}"
            reason = _reason(error)
            listen = self.listen_variable if blames_address(error) else ""
            raise ListenError(
                "probes server", address, self.port_variable, reason, address_variable=listen
            ) from error

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - a drain deadline
        if self.shared_with is None and not self.served_elsewhere:
            await self.server.stop(timeout)


def _reason(error: OSError) -> str:
    # create_server() appends the address to strerror; the caller already names it.
    return (os.strerror(error.errno) if error.errno else str(error)).lower()
