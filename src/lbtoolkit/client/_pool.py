"""Channels to other services by name: resolvers, settings and interceptors they share."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from lbtoolkit.client._channel import Channel, ChannelSettings, GrpcChannel, RetrySettings
from lbtoolkit.client._config import GrpcClientConfig, split_endpoints
from lbtoolkit.client._errors import ClientCallError, ClientInterceptorError
from lbtoolkit.client._metrics import ClientMetrics
from lbtoolkit.client._resolvers import EndpointsResolver, FileResolver, ResolveError, target_of
from lbtoolkit.config import ConfigIssue

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from lbtoolkit.client._sources import ResolverSource
    from lbtoolkit.config import ConfigController
    from lbtoolkit.tools import Tools

__all__ = ["DEFAULT_GRPC_PORT", "ChannelPool", "target_variable"]

log = logging.getLogger("lbtoolkit.client")

# The gRPC server's default port, so ``service:9000`` reaches a service by its
# DNS name (a Kubernetes Service, a compose service) without configuration.
DEFAULT_GRPC_PORT = 9000


def target_variable(env_prefix: str, service: str) -> str:
    """The variable holding the address of ``service``: ``{PREFIX}_CLIENT_{SERVICE}_TARGET``."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", service).strip("_").upper()
    return "_".join(part for part in (env_prefix.upper(), "CLIENT", name, "TARGET") if part)


class ChannelPool:
    """One channel per service name, opened lazily and closed together.

    The address of service ``users`` (prefix ``MYSERVICE``) is found, first
    match wins, in: ``MYSERVICE_CLIENT_USERS_TARGET`` (any gRPC target:
    ``host:port``, ``dns:///host:port``); ``MYSERVICE_RESOLVER_ENDPOINTS``
    (``users=10.0.0.1:9000,users=10.0.0.2:9000``); the route table file of
    ``MYSERVICE_RESOLVER_FILE``; then each source given to :meth:`add_source`,
    in order. With no resolver configured at all, ``users:9000`` (a DNS name)
    is used; otherwise a service none of them knows fails its calls with
    ``UNAVAILABLE`` naming the service and the resolvers asked.
    """

    def __init__(
        self,
        *,
        env_prefix: str = "",
        environ: Mapping[str, str] | None = None,
        factory: Callable[[str], Channel] | None = None,
        config: GrpcClientConfig | None = None,
        tools: Tools | None = None,
    ) -> None:
        self._env_prefix = env_prefix
        self._environ = os.environ if environ is None else environ
        self._factory = factory
        self._channels: dict[str, Channel] = {}
        self._sources: list[ResolverSource] = []
        self._subscribed: set[tuple[int, str]] = set()
        self._interceptors: dict[str, grpc.aio.ClientInterceptor] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._config = config
        self._tools = tools
        self._configured: list[ResolverSource] = []
        self._metrics: ClientMetrics | None = None
        self._settings: ChannelSettings | None = None
        # Strong references to the channel swaps under way.
        self._swaps: set[asyncio.Task[None]] = set()
        if config is not None:
            self._configured = self._resolvers_of(config)

    @classmethod
    def configured(
        cls, controller: ConfigController, *, environ: Mapping[str, str], tools: Tools | None
    ) -> ChannelPool:
        """A pool reading :class:`GrpcClientConfig` under the service prefix of ``controller``.

        Problems found beyond parsing (a certificate without its key) are
        reported to ``controller``, so the service's start lists them with
        the rest.
        """
        config = controller.parse(GrpcClientConfig, "", owner="gRPC client")
        for issue in tls_issues(config, controller.variable_name):
            controller.add_issue(issue)
        return cls(
            env_prefix=controller.service_prefix,
            environ=environ,
            config=config,
            tools=tools,
        )

    # -- configuration ---------------------------------------------------------
    def _variable(self, field: str) -> str:
        return "_".join(part for part in (self._env_prefix.upper(), field) if part)

    def _resolvers_of(self, config: GrpcClientConfig) -> list[ResolverSource]:
        found: list[ResolverSource] = []
        if config.resolver_endpoints:
            table = split_endpoints(config.resolver_endpoints)
            found.append(EndpointsResolver(self._variable("RESOLVER_ENDPOINTS"), table))
        if config.resolver_file is not None:
            found.append(FileResolver(self._variable("RESOLVER_FILE"), config.resolver_file))
        return found

    def settings(self) -> ChannelSettings:
        """What every channel of this pool shares, fixed by the first call."""
        if self._settings is not None:
            return self._settings
        config = self._config
        if config is None:
            self._settings = ChannelSettings(interceptors=tuple(self._interceptors.values()))
            return self._settings
        tracer = None
        if self._tools is not None:
            if self._metrics is None:
                self._metrics = ClientMetrics(self._tools.metrics.namespace)
                self._tools.metrics.registry.register(self._metrics)
            if self._tools.traces.enabled:
                tracer = self._tools.traces.tracer("lbtoolkit.client")
        timeout = config.timeout.total_seconds()
        self._settings = ChannelSettings(
            timeout=timeout,
            retry=RetrySettings(
                max_attempts=config.retry_max_attempts,
                initial_backoff=config.retry_initial_backoff.total_seconds(),
                max_backoff=config.retry_max_backoff.total_seconds(),
                backoff_multiplier=config.retry_backoff_multiplier,
                codes=tuple(config.retry_codes),
                idempotent_codes=tuple(config.retry_idempotent_codes),
                budget_tokens=config.retry_budget_tokens,
                budget_token_ratio=config.retry_budget_token_ratio,
            ),
            max_receive_message_size=config.max_receive_message_size,
            max_send_message_size=config.max_send_message_size,
            credentials=credentials_of(config),
            server_name=config.tls_server_name,
            interceptors=tuple(self._interceptors.values()),
            propagate_headers=tuple(dict.fromkeys(["x-request-id", *config.propagate_headers])),
            tracer=tracer,
            metrics=self._metrics,
            close_grace=timeout,
        )
        return self._settings

    def register_interceptor(self, name: str, interceptor: grpc.aio.ClientInterceptor) -> None:
        """Run ``interceptor`` (a ``grpc.aio`` client interceptor) around every call.

        Interceptors run in the order registered, the first outermost. Register
        them before the first call: a channel takes the interceptors it is
        opened with.
        """
        if name in self._interceptors:
            message = f"a client interceptor named {name!r} is already registered"
            raise ClientInterceptorError(message)
        if self._settings is not None:
            message = (
                f"client interceptor {name!r} registered after the first call to another "
                "service: register it before, so that every channel runs it"
            )
            raise ClientInterceptorError(message)
        self._interceptors[name] = interceptor

    @property
    def interceptors(self) -> list[str]:
        """The names of the registered client interceptors, outermost first."""
        return list(self._interceptors)

    def add_source(self, source: ResolverSource) -> None:
        """Resolve services through ``source`` too, after the configured resolvers.

        Callable before or after start (a registry plugin calls it from its
        ``pre_start``); sources are asked in the order they were added. A
        service's channel subscribes to the source that resolved it and
        follows its changes.
        """
        self._sources.append(source)

    @property
    def resolvers(self) -> list[str]:
        """The names of the resolvers asked, in order of precedence."""
        return [source.name for source in (*self._configured, *self._sources)]

    # -- resolution ----------------------------------------------------------
    def target(self, service: str) -> str:
        """The explicit or default target of ``service`` (before any resolver is asked).

        ``{PREFIX}_CLIENT_{SERVICE}_TARGET`` if set; else ``service:9000``
        when no resolver is configured; else ``""`` (the resolvers decide).
        """
        variable = target_variable(self._env_prefix, service)
        explicit = self._environ.get(variable)
        if explicit:
            return explicit
        if self._configured or self._sources:
            return ""
        return f"{service}:{DEFAULT_GRPC_PORT}"

    async def _resolve(self, service: str, channel: GrpcChannel) -> str:
        explicit = self.target(service)
        if explicit:
            return explicit
        asked: list[str] = []
        for source in (*self._configured, *self._sources):
            asked.append(source.name)
            try:
                addresses = source.addresses(service)
            except ResolveError as error:
                raise ClientCallError(grpc.StatusCode.UNAVAILABLE, str(error)) from None
            if addresses is None:
                continue
            self._follow(source, service, channel)
            if not addresses:
                message = f"service {service!r} has no live address in {source.name}"
                raise ClientCallError(grpc.StatusCode.UNAVAILABLE, message)
            try:
                return await target_of(addresses)
            except ResolveError as error:
                message = f"service {service!r} from {source.name}: {error}"
                raise ClientCallError(grpc.StatusCode.UNAVAILABLE, message) from None
        message = (
            f"no resolver knows service {service!r} (asked: {', '.join(asked)}; "
            f"or set {target_variable(self._env_prefix, service)})"
        )
        raise ClientCallError(grpc.StatusCode.UNAVAILABLE, message)

    def _follow(self, source: ResolverSource, service: str, channel: GrpcChannel) -> None:
        key = (id(source), service)
        if key in self._subscribed:
            return
        self._subscribed.add(key)
        loop = self._loop = asyncio.get_running_loop()

        def on_change(addresses: list[str]) -> None:
            # Sources may call from their own threads; channels live in the loop.
            if loop.is_closed():
                return
            loop.call_soon_threadsafe(self._changed, service, channel, list(addresses))

        source.subscribe(service, on_change)

    def _changed(self, service: str, channel: GrpcChannel, addresses: list[str]) -> None:
        if self._channels.get(service) is not channel:
            return  # the pool was closed since

        async def resolve_again() -> str:
            return await self._resolve(service, channel)

        if not addresses:
            channel.unresolve(resolve_again)
            return

        async def swap() -> None:
            try:
                target = await target_of(addresses)
            except ResolveError as error:
                log.warning("service %r: new addresses ignored: %s", service, error)
                return
            log.info("service %r now at %s", service, target)
            channel.retarget(target)

        task = asyncio.get_running_loop().create_task(swap())
        self._swaps.add(task)
        task.add_done_callback(self._swaps.discard)

    # -- channels --------------------------------------------------------------
    def channel(self, service: str) -> Channel:
        """The channel to ``service``, created on first use (resolved on its first call)."""
        channel = self._channels.get(service)
        if channel is None:
            if self._factory is not None:
                channel = self._factory(self.target(service) or f"{service}:{DEFAULT_GRPC_PORT}")
            else:
                channel = self._grpc_channel(service)
            self._channels[service] = channel
        return channel

    def _grpc_channel(self, service: str) -> GrpcChannel:
        target = self.target(service)
        made: GrpcChannel

        async def resolve() -> str:
            return await self._resolve(service, made)

        made = GrpcChannel(
            target,
            settings_provider=self.settings,
            service=service,
            resolve=None if target else resolve,
        )
        return made

    async def close(self) -> None:
        """Close every channel opened so far (each after its calls end)."""
        channels, self._channels = list(self._channels.values()), {}
        self._subscribed.clear()
        await asyncio.gather(*(channel.close() for channel in channels))


def tls_issues(config: GrpcClientConfig, variable: Callable[[str], str]) -> list[ConfigIssue]:
    """Client TLS settings that do not go together."""
    issues = []
    owner = "gRPC client"
    if (config.tls_cert_file is None) != (config.tls_key_file is None):
        missing, other = (
            ("GRPC_CLIENT_TLS_KEY_FILE", "GRPC_CLIENT_TLS_CERT_FILE")
            if config.tls_key_file is None
            else ("GRPC_CLIENT_TLS_CERT_FILE", "GRPC_CLIENT_TLS_KEY_FILE")
        )
        message = f"required when {variable(other)} is set"
        issues.append(ConfigIssue(variable(missing), message, owner))
    for field, path in (
        ("GRPC_CLIENT_TLS_CA_FILE", config.tls_ca_file),
        ("GRPC_CLIENT_TLS_CERT_FILE", config.tls_cert_file),
    ):
        if path is not None and b"-----BEGIN CERTIFICATE-----" not in _read(path):
            message = f"{path} holds no PEM certificate"
            issues.append(ConfigIssue(variable(field), message, owner))
    if config.tls_key_file is not None and b"PRIVATE KEY-----" not in _read(config.tls_key_file):
        message = f"{config.tls_key_file} holds no PEM private key"
        issues.append(ConfigIssue(variable("GRPC_CLIENT_TLS_KEY_FILE"), message, owner))
    return issues


def _read(path: Any) -> bytes:
    try:
        data: bytes = path.read_bytes()
    except OSError:
        return b""  # reported by the field's own check
    return data


def credentials_of(config: GrpcClientConfig) -> grpc.ChannelCredentials | None:
    """TLS credentials from the config's files, or ``None`` for plain text."""
    if not config.uses_tls:
        return None
    ca = config.tls_ca_file.read_bytes() if config.tls_ca_file is not None else None
    key = config.tls_key_file.read_bytes() if config.tls_key_file is not None else None
    chain = config.tls_cert_file.read_bytes() if config.tls_cert_file is not None else None
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=chain
    )
