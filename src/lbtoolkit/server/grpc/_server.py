"""The gRPC server on ``grpc.aio``: declared services, health, reflection, TLS."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio
from dishka.exceptions import NoFactoryError
from grpc_health.v1 import health, health_pb2_grpc

from lbtoolkit._di import returned_type
from lbtoolkit.config import ConfigError, ConfigIssue
from lbtoolkit.server._errors import ImplementationError, ServiceNotSetError
from lbtoolkit.server._services import ServiceRegistry, check_implementation
from lbtoolkit.server.grpc._config import GrpcServerConfig
from lbtoolkit.server.grpc._drain import CallTracker
from lbtoolkit.server.grpc._handlers import build_handlers
from lbtoolkit.server.grpc._health import HealthService
from lbtoolkit.server.grpc._methods import MethodTable
from lbtoolkit.tools import ListenError
from lbtoolkit.tools._listen import blames_address, listen_tcp, listening_ports_shared

if TYPE_CHECKING:
    from dishka import AsyncContainer

    from lbtoolkit._di import Injector
    from lbtoolkit.config import ConfigController
    from lbtoolkit.server.grpc._interceptors import Interceptor
    from lbtoolkit.spec import ServiceSpec
    from lbtoolkit.tools import Tools

__all__ = ["GrpcServer"]

log = logging.getLogger("lbtoolkit.server.grpc")


class GrpcServer:
    """A ``grpc.aio`` server serving declared services with one implementation each.

    Created by ``app.server.declare(spec)`` for specs that list GRPC and
    reached as ``app.server.grpc``. Its settings are read under
    ``{SERVICE_PREFIX}_{name}_GRPC_SERVER_*`` (:class:`GrpcServerConfig`).
    """

    def __init__(
        self,
        name: str,
        *,
        runtime_config: ConfigController,
        tools: Tools,
        injector: Injector,
        services: ServiceRegistry | None = None,
        validation: bool = True,
    ) -> None:
        self._name = name
        self._validation = validation
        self.label = f'grpc server "{name}"'
        self.config = runtime_config.parse(GrpcServerConfig, name, owner=self.label)
        self._runtime_config = runtime_config
        self.port_variable = self._variable("GRPC_SERVER_PORT")
        self._tools = tools
        self._injector = injector
        self._services = services or ServiceRegistry(injector)
        self._specs: list[ServiceSpec] = []
        self._interceptors: list[Any] = []
        self._server: grpc.aio.Server | None = None
        self._health: HealthService | None = None
        self._handlers: list[tuple[str, dict[str, grpc.RpcMethodHandler[Any, Any]]]] = []
        self._methods: MethodTable | None = None
        self._tracker = CallTracker()
        self._bound_port: int | None = None
        for issue in self._tls_issues():
            runtime_config.add_issue(issue)

    @property
    def name(self) -> str:
        return self._name

    @property
    def disabled(self) -> bool:
        """``{P}_GRPC_SERVER_DISABLED``: the server is neither built nor started."""
        return self.config.disabled

    @property
    def port(self) -> int:
        """The bound port once started (port 0: the one the system chose), else the configured."""
        return self._bound_port if self._bound_port is not None else self.config.port

    @property
    def health(self) -> HealthService | None:
        """The health service, once the server is built."""
        return self._health

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        """The specs this server answers."""
        return tuple(self._specs)

    def add_service(self, spec: ServiceSpec) -> None:
        """Serve ``spec`` (its non-proxied methods); ``set_service`` gives the implementation."""
        if all(s.full_name != spec.full_name for s in self._specs):
            self._specs.append(spec)
            self._services.add(spec)

    def set_service(self, implementation: type, *, spec: ServiceSpec | None = None) -> None:
        """Answer the declared services with ``implementation`` (built by DI, shared with HTTP)."""
        self._services.set_service(implementation, spec=spec)

    def set_interceptor(
        self, constructor: Callable[..., Interceptor], *, provides: Any = None
    ) -> None:
        """Wrap every call with the interceptor ``constructor`` builds (wired by DI).

        Interceptors run in registration order, the first outermost.
        """
        key = (
            provides
            if provides is not None
            else returned_type(constructor, "interceptor constructor")
        )
        if key not in self._interceptors:
            self._injector.provide(constructor, provides=key)
            self._interceptors.append(key)

    # -- lifecycle ---------------------------------------------------------------
    async def prepare(self, container: AsyncContainer) -> None:
        """Resolve implementations and interceptors, wrap every method once."""
        if self.config.disabled:
            log.info("%s is disabled", self.label)
            return
        interceptors = [await container.get(key) for key in self._interceptors]
        metrics = self._tools.metrics.requests("grpc")
        self._handlers = []
        for spec in self._specs:
            implementation = await self._implementation(container, spec)
            problems = check_implementation(type(implementation), spec)
            if problems:
                raise ImplementationError(
                    type(implementation).__qualname__, spec.full_name, problems
                )
            handlers = build_handlers(
                spec,
                implementation,
                server=self._name,
                interceptors=interceptors,
                metrics=metrics,
                traces=self._tools.traces,
                container=container,
                tracker=self._tracker,
                outages=self._tools.outages,
                validation=self._validation,
            )
            self._handlers.append((spec.full_name, handlers))
        self._health = HealthService(name for name, _ in self._handlers)
        self._tools.probes.add_readiness_listener(self._health.set_serving)
        self._health.set_serving(self._tools.probes.started)

    async def _implementation(self, container: AsyncContainer, spec: ServiceSpec) -> object:
        key = self._services.key(spec, self.label)
        try:
            implementation: object = await container.get(key)
        except NoFactoryError as error:
            if error.requested.type_hint is not key:
                raise
            raise ServiceNotSetError(spec.full_name, self.label) from None
        return implementation

    async def start(self) -> None:
        """Build the ``grpc.aio`` server, bind and start; return once listening.

        The server object is created here, not in :meth:`prepare`, so a start
        rolled back before the servers step leaves no grpc server behind.
        """
        health_service = self._health
        if health_service is None:
            return
        config = self.config
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", config.max_receive_message_size),
                ("grpc.max_send_message_length", config.max_send_message_size),
                # Off unless this process is one of several workers sharing the port:
                # otherwise Linux lets a second server bind the same port silently.
                ("grpc.so_reuseport", 1 if listening_ports_shared() else 0),
            ]
        )
        # One table for every method, not grpc's registered methods: see _methods.py.
        methods = MethodTable()
        for name, handlers in self._handlers:
            methods.add(name, handlers)
        health_pb2_grpc.add_HealthServicer_to_server(health_service, methods)
        if config.reflection:
            # Off by default: a server without it never loads grpcio-reflection.
            from grpc_reflection.v1alpha import (  # noqa: PLC0415 - lazy: reflection is opt-in
                reflection,
                reflection_pb2_grpc,
            )

            served = [name for name, _ in self._handlers]
            served += [health.SERVICE_NAME, reflection.SERVICE_NAME]
            reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
                reflection.aio.ReflectionServicer(served), methods
            )
        server.add_generic_rpc_handlers((methods,))
        try:
            port = self._bind(server)
        except BaseException:
            await server.stop(None)
            raise
        await server.start()
        self._server = server
        self._methods = methods
        self._bound_port = port
        tls = " (TLS)" if config.tls_cert_file is not None else ""
        log.info("%s listening on %s:%d%s", self.label, config.listen, port, tls)

    def _bind(self, server: grpc.aio.Server) -> int:
        host, port = self.config.listen, self.config.port
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        credentials = self._credentials()
        try:
            if credentials is None:
                return server.add_insecure_port(address)
            return server.add_secure_port(address, credentials)
        except RuntimeError as error:
            reason, at_fault = _bind_failure(host, port)
            listen = self._variable("GRPC_SERVER_LISTEN") if at_fault else ""
            raise ListenError(
                self.label, address, self.port_variable, reason, address_variable=listen
            ) from error

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - a drain deadline
        """NOT_SERVING, refuse new calls, let every running one finish within ``timeout``.

        Calls still running after ``timeout`` seconds (or when the stop itself
        is cancelled) are cancelled and named in one log line.
        """
        server, methods = self._server, self._methods
        if server is None or methods is None:
            return
        self._server = self._methods = None
        if self._health is not None:
            self._health.shutdown()
        methods.refuse(self._served_paths(), self._tracker)
        deadline = asyncio.get_running_loop().time() + max(timeout, 0.0)
        try:
            drained = await self._tracker.wait_drained(deadline)
        except asyncio.CancelledError:
            self._log_cancelled(timeout)
            await server.stop(0)
            raise
        if not drained:
            self._log_cancelled(timeout)
        await server.stop(0)
        log.info("%s stopped", self.label)

    def _served_paths(self) -> list[str]:
        return [f"/{name}/{method}" for name, handlers in self._handlers for method in handlers]

    def _log_cancelled(self, timeout: float) -> None:
        metrics = self._tools.metrics.requests("grpc")
        running = Counter(
            {path: metrics.bind(self._name, path).in_flight for path in self._served_paths()}
        )
        calls = sum(running.values())
        if not calls:
            return
        names = ", ".join(f"{path} ({count})" for path, count in running.most_common() if count)
        log.error(
            "%s: cancelling %d call%s still running after the shutdown budget of %gs: %s",
            self.label,
            calls,
            "" if calls == 1 else "s",
            timeout,
            names,
        )

    def _variable(self, field: str) -> str:
        return self._runtime_config.variable_name(field, self._name)

    # -- TLS -----------------------------------------------------------------------
    def _tls_issues(self) -> list[ConfigIssue]:
        config, issues = self.config, []
        if (config.tls_cert_file is None) != (config.tls_key_file is None):
            missing = (
                "GRPC_SERVER_TLS_KEY_FILE"
                if config.tls_key_file is None
                else "GRPC_SERVER_TLS_CERT_FILE"
            )
            other = (
                "GRPC_SERVER_TLS_CERT_FILE"
                if config.tls_key_file is None
                else "GRPC_SERVER_TLS_KEY_FILE"
            )
            message = f"required when {self._variable(other)} is set"
            issues.append(ConfigIssue(self._variable(missing), message, self.label))
        if config.tls_client_ca_file is not None and config.tls_cert_file is None:
            cert = self._variable("GRPC_SERVER_TLS_CERT_FILE")
            message = f"client certificates need TLS: set {cert} too"
            issues.append(
                ConfigIssue(self._variable("GRPC_SERVER_TLS_CLIENT_CA_FILE"), message, self.label)
            )
        return issues

    def _credentials(self) -> grpc.ServerCredentials | None:
        config = self.config
        if config.tls_cert_file is None or config.tls_key_file is None:
            return None
        chain = self._read("GRPC_SERVER_TLS_CERT_FILE", config.tls_cert_file)
        key = self._read("GRPC_SERVER_TLS_KEY_FILE", config.tls_key_file)
        client_ca = None
        if config.tls_client_ca_file is not None:
            client_ca = self._read("GRPC_SERVER_TLS_CLIENT_CA_FILE", config.tls_client_ca_file)
        return grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
        )

    def _read(self, field: str, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as error:
            issue = ConfigIssue(
                self._variable(field), f"cannot read {path}: {error.strerror}", self.label
            )
            raise ConfigError([issue]) from error


def _bind_failure(host: str, port: int) -> tuple[str, bool]:
    """Why grpc could not bind (it only says that it could not), and whether the address is why.

    Asks the system by binding the same address once.
    """
    try:
        # Resolves the name first, so that a name that does not resolve fails as
        # such (socket.create_server() would turn it into a bare "error -2").
        probe = listen_tcp(host, port)
    except OSError as error:
        return _reason(error), blames_address(error)
    probe.close()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # The system resolves it (as it reads "0" as 0.0.0.0) but grpc's own
        # resolver does not: the name is at fault, not the port.
        return "grpc cannot resolve the name", True
    return "the address could not be bound", False


def _reason(error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the name: {error.strerror}".lower()
    return (os.strerror(error.errno) if error.errno else str(error)).lower()
