"""The etcd registry plugin: this service's servers in etcd, other services' addresses from it."""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lbtoolkit.plugins.registry_etcd._config import (
    Config,
    Endpoint,
    Options,
    find_issues,
    is_wildcard,
    parse_endpoints,
)
from lbtoolkit.plugins.registry_etcd._errors import EtcdRegistrationError, EtcdUnreachableError
from lbtoolkit.plugins.registry_etcd._etcd import UNREACHABLE, EtcdSession
from lbtoolkit.plugins.registry_etcd._registration import (
    Record,
    Registrar,
    describe,
    lease_seconds,
)
from lbtoolkit.plugins.registry_etcd._resolver import EtcdResolver

if TYPE_CHECKING:
    from lbtoolkit.runtime import Runtime

__all__ = ["EtcdRegistryPlugin", "Plugin"]

_READINESS_TIMEOUT = 5.0


class Plugin(Protocol):
    """The service registry on etcd; what services and handlers call."""

    @property
    def resolver(self) -> EtcdResolver:
        """Other services' gRPC addresses, followed live (a client resolver source)."""
        ...

    @property
    def registered(self) -> bool:
        """Whether this service's servers are in the registry under a live lease."""
        ...

    def keys(self) -> tuple[str, ...]:
        """The registry keys this instance writes (empty before ``on_start``)."""
        ...

    async def health_check(self) -> None:
        """Raise unless the registration is current (the readiness check)."""
        ...

    def info(self) -> str:
        """Print the plugin's variables and values (password masked); return the text."""
        ...


class _ListenConfig(Protocol):
    @property
    def listen(self) -> str: ...


class _ListeningServer(Protocol):
    """What the registry reads of a server: where it listens (the bound port once started)."""

    @property
    def port(self) -> int: ...

    @property
    def config(self) -> _ListenConfig: ...


@dataclass(frozen=True, slots=True)
class _Listener:
    kind: str
    host: str
    port: int


class EtcdRegistryPlugin:
    """The implementation behind :class:`Plugin`; build it with ``new_plugin``."""

    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name
        self._owner = f'plugin "{options.name}" (registry_etcd)'
        self._log = runtime.log.getChild(options.name)
        self.config = config = runtime.config.parse(Config, options.name, owner=self._owner)
        issues = find_issues(config, self._owner, self._variable)
        for issue in issues:
            runtime.config.add_issue(issue)
        self._endpoints: tuple[Endpoint, ...] = (
            (Endpoint("127.0.0.1", 2379),) if issues else parse_endpoints(config.endpoints)
        )
        self._ttl = lease_seconds(config.lease_ttl.total_seconds())
        self._session: EtcdSession | None = None
        self._watch_session: EtcdSession | None = None
        self._registrar: Registrar | None = None
        self._resolver = EtcdResolver(config.key_prefix, self._owner, self._log)
        self._withdrawn = False
        self._client_only = False
        runtime.tools.probes.register_check(
            options.name,
            "readiness",
            self.health_check,
            timeout=_READINESS_TIMEOUT,
            critical=config.readiness_critical,
        )
        # Awaited once readiness is false at stop, before the servers drain:
        # clients move away while calls are still answered.
        runtime.tools.probes.add_withdrawal(self._withdraw)

    @property
    def resolver(self) -> EtcdResolver:
        return self._resolver

    @property
    def registered(self) -> bool:
        return self._registrar is not None and self._registrar.registered

    def keys(self) -> tuple[str, ...]:
        registrar = self._registrar
        return () if registrar is None else tuple(r.key for r in registrar.records)

    # -- lifecycle -------------------------------------------------------------
    async def pre_start(self) -> None:
        """Reach etcd (the first endpoint that answers) and offer the resolver to clients."""
        self._session = await self._open_session()
        try:
            self._watch_session = await self._open_session()
        except BaseException:
            await self._session.close()
            self._session = None
            raise
        try:
            await self._resolver.start(self._watch_session)
        except UNREACHABLE as error:
            await self.on_stop()
            raise self._unreachable(describe(error), self._endpoint_list()) from error
        self._runtime.client.add_source(self._resolver)
        self._log.info(
            "%s reached etcd at %s; registry under %s",
            self._owner,
            self._session.endpoint,
            self.config.key_prefix,
        )

    async def on_start(self) -> None:
        """Register every server of the service (they listen by now) under one lease."""
        session = self._started("register")
        records = [self._record(listener) for listener in self._listeners()]
        if not records:
            # A service that only calls others: it follows the registry, nothing to write.
            self._client_only = True
            self._log.info("%s: no server to register; following the registry only", self._owner)
            return
        registrar = Registrar(session, self._ttl, self._owner, self._log)
        try:
            await registrar.register(records)
        except UNREACHABLE as error:
            raise self._unreachable(describe(error), session.endpoint) from error
        self._registrar = registrar
        self._log.info(
            "%s registered %s (lease %ss)",
            self._owner,
            ", ".join(r.label for r in records) or "no server",
            self._ttl,
        )

    async def on_stop_sync(self) -> None:
        """Make sure the registration is gone (the withdrawal before the drain, or a rollback)."""
        if self._registrar is not None and not self._withdrawn:
            await self._registrar.deregister()

    async def on_stop(self) -> None:
        """Stop following other services and close the connections to etcd."""
        await self._resolver.close()
        for session in (self._session, self._watch_session):
            if session is not None:
                await session.close()
        self._session = self._watch_session = None

    # -- health and info --------------------------------------------------------
    async def health_check(self) -> None:
        registrar = self._registrar
        if registrar is None and self._client_only:
            return
        if registrar is None:
            msg = f"{self._owner}: not registered yet"
            raise RuntimeError(msg)
        if not registrar.registered:
            msg = f"{self._owner}: registration not current: {registrar.problem}"
            raise RuntimeError(msg)

    def info(self) -> str:
        text = self._runtime.config.describe(self._owner, self.config)
        sys.stdout.write(text + "\n")
        return text

    # -- inside ---------------------------------------------------------------------
    async def _withdraw(self) -> None:
        if self._registrar is not None:
            await self._registrar.deregister()
            self._withdrawn = True

    async def _open_session(self) -> EtcdSession:
        config = self.config
        session = EtcdSession(
            self._endpoints,
            timeout=config.dial_timeout.total_seconds(),
            username=config.username,
            password=config.password.get_secret_value(),
        )
        try:
            await session.connect()
        except UNREACHABLE as error:
            await session.close()
            raise self._unreachable(describe(error), self._endpoint_list()) from error
        except Exception as error:  # a refused login, say
            await session.close()
            raise self._unreachable(describe(error), self._endpoint_list()) from error
        return session

    def _endpoint_list(self) -> str:
        return ", ".join(map(str, self._endpoints))

    def _listeners(self) -> list[_Listener]:
        found: list[_Listener] = []
        servers = self._runtime.server
        for kind in ("grpc", "http"):
            try:
                server: _ListeningServer = getattr(servers, kind)
            except LookupError:  # the service declares no server of this kind
                continue
            if getattr(server, "disabled", False):
                continue
            found.append(_Listener(kind, server.config.listen, server.port))
        return found

    def _record(self, listener: _Listener) -> Record:
        meta = self._runtime.meta
        host = self.config.advertise_host.strip() or listener.host
        server = f"the {listener.kind} server ({listener.host}:{listener.port})"
        if is_wildcard(host):
            raise EtcdRegistrationError(
                self._owner,
                server,
                f"it listens on {listener.host or 'every interface'}, which no client can dial",
                f"set {self._variable('ADVERTISE_HOST')} to the address others reach this "
                "service at (the pod IP, a DNS name)",
            )
        address = f"[{host}]:{listener.port}" if ":" in host else f"{host}:{listener.port}"
        value = {
            "service": meta.name,
            "kind": listener.kind,
            "address": address,
            "host": host,
            "port": listener.port,
            "version": meta.version or "",
            "metadata": {"hostname": socket.gethostname(), "prefix": meta.env_prefix},
        }
        key = f"{self.config.key_prefix}{meta.name}/{listener.kind}/{address}"
        return Record(key, json.dumps(value, sort_keys=True).encode(), f"{listener.kind} {address}")

    def _started(self, what: str) -> EtcdSession:
        if self._session is None:
            msg = f"{self._owner}: cannot {what} before pre_start has reached etcd"
            raise RuntimeError(msg)
        return self._session

    def _unreachable(self, cause: str, endpoints: object) -> EtcdUnreachableError:
        hint = (
            f"check {self._variable('ENDPOINTS')} and that etcd is reachable from here"
            if "auth" not in cause.lower()
            else f"check {self._variable('USERNAME')} and {self._variable('PASSWORD')}"
        )
        return EtcdUnreachableError(self._owner, str(endpoints), cause, hint)

    def _variable(self, name: str) -> str:
        return self._runtime.config.variable_name(name, self._prefix)
