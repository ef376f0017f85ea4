"""The redis plugin: one redis-py asyncio client per prefix, checked at start."""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import (
    AuthenticationError,
    ClusterDownError,
    RedisClusterException,
    RedisClusterUnreachableError,
    RedisError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lbtoolkit.config import ConfigError, ConfigIssue, mask_secrets
from lbtoolkit.plugins.redis._config import Config, Problem, find_problems, resolve_target
from lbtoolkit.plugins.redis._connection import new_client, new_cluster_client
from lbtoolkit.plugins.redis._errors import RedisConnectError, RedisStateError

if TYPE_CHECKING:
    from lbtoolkit.runtime import Runtime

__all__ = ["CHECK_TIMEOUT", "Options", "Plugin", "new_plugin"]

# The Go toolkit's ping timeout, and Kubernetes' default probe timeout: a
# slower answer fails the probe anyway.
CHECK_TIMEOUT = 1.0

log = logging.getLogger("lbtoolkit.plugins.redis")

# What a failed connect raises: redis-py's errors (the cluster ones stand
# apart from RedisError) and the socket's own.
_CONNECT_ERRORS = (RedisError, RedisClusterException, OSError)

# What a command raises when the server cannot be reached: refused, reset,
# timed out, no free connection in the pool (redis-py's MaxConnectionsError
# is a ConnectionError), the cluster down; the socket's own errors when they
# escape redis-py's wrapping.
_OUTAGE_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    RedisClusterUnreachableError,
    ConnectionError,
    TimeoutError,
)


class Plugin(Protocol):
    """What services call on a redis plugin (the guide's ``RedisPlugin``)."""

    def client(self) -> Redis | RedisCluster:
        """The client: ``Redis`` on ``DATABASE``, or ``RedisCluster`` in cluster mode.

        Safe for concurrent use; available from ``pre_start`` to ``on_stop``.
        """
        ...

    def db(self) -> Redis | RedisCluster:
        """The same client as :meth:`client` (the guide's ``DB()``)."""
        ...

    def cluster_db(self) -> RedisCluster:
        """The cluster client; raises ``RedisStateError`` unless cluster mode is on."""
        ...

    def info(self) -> str:
        """Write the variables and their values to stdout, secrets masked; return the text."""
        ...

    async def pre_start(self) -> None:
        """Connect and ping; raise ``RedisConnectError`` if the server cannot be reached."""
        ...

    async def on_stop(self) -> None:
        """Close every connection of the client."""
        ...


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is the prefix of its variables (``session_cache``)."""

    name: str = "redis"


def new_plugin(runtime: Runtime, options: Options) -> Plugin:
    """Parse the config under ``options.name`` and register the readiness check.

    Nothing connects here: the client is created and checked in ``pre_start``.
    """
    return _RedisPlugin(runtime, options)


class _RedisPlugin:
    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name or "redis"
        self._owner = f'plugin "{self._prefix}" (redis)'
        self._config = runtime.config.parse(Config, self._prefix, owner=self._owner)
        # Checked once, here: the start fails on these with the other config issues.
        self._problems = find_problems(self._config, self._variable)
        for problem in self._problems:
            runtime.config.add_issue(self._issue(problem))
        self._target = None if self._problems else resolve_target(self._config)
        # Redis refuses client names with spaces; the name is what CLIENT LIST shows.
        self._client_name = re.sub(r"\s+", "_", f"{runtime.meta.name}.{self._prefix}")
        self._client: Redis | RedisCluster | None = None
        # Readiness only: a Redis outage should take the replica out of
        # rotation (unless REQUIRED=false), not have it restarted as the Go
        # plugin's liveness check would.
        runtime.tools.probes.register_check(
            self._prefix,
            "readiness",
            self._check,
            timeout=CHECK_TIMEOUT,
            critical=self._config.required,
        )
        self._outage = runtime.tools.outages.register(
            self._prefix,
            "redis",
            _OUTAGE_ERRORS,
            owners=self._owners,
            describe=lambda error: self._scrub(f"{type(error).__name__}: {error}"),
        )

    def client(self) -> Redis | RedisCluster:
        if self._client is None:
            raise RedisStateError(
                self._prefix,
                "client",
                "was called while the plugin is not started",
                "use the client in code that runs after the plugins' pre_start "
                "(constructors, handlers, start hooks) and before on_stop",
            )
        return self._client

    def db(self) -> Redis | RedisCluster:
        return self.client()

    def cluster_db(self) -> RedisCluster:
        if not self._config.cluster_mode:
            variable = self._variable("CLUSTER_MODE")
            raise RedisStateError(
                self._prefix,
                "cluster_db",
                "needs cluster mode, which is off",
                f"set {variable}=true for a Redis Cluster, or call client()",
            )
        client = self.client()
        assert isinstance(client, RedisCluster)  # noqa: S101 - cluster mode builds nothing else
        return client

    def info(self) -> str:
        text = self._runtime.config.describe(self._owner, self._config)
        sys.stdout.write(text + "\n")
        return text

    async def pre_start(self) -> None:
        target = self._target
        if target is None:  # started on its own, without the service's config check
            raise ConfigError([self._issue(p) for p in self._problems])
        config = self._config
        addresses = list(target.addresses)
        client: Redis | RedisCluster
        if config.cluster_mode:
            client = new_cluster_client(config, addresses, self._client_name)
        else:
            client = new_client(config, addresses[0], self._client_name)
        where = ",".join(str(a) for a in addresses)
        try:
            if isinstance(client, RedisCluster):
                await client.initialize()
            await client.ping()
        except _CONNECT_ERRORS as error:
            await _close_quietly(client)
            cause = self._scrub(str(error))
            refused = isinstance(error, AuthenticationError)
            names = ("USERNAME", "PASSWORD") if refused else target.variables
            variable = " and ".join(self._variable(name) for name in names)
            raise RedisConnectError(
                self._prefix, where, cause, variable=variable, credentials=refused
            ) from error
        self._client = client
        log.debug("%s: connected to %s (%s)", self._owner, where, type(client).__name__)

    async def on_stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _check(self) -> None:
        if self._client is None:
            raise RedisStateError(self._prefix, "ping", "failed: the plugin is not started")
        await self._client.ping()
        self._outage.available()

    def _owners(self) -> tuple[object, ...]:
        client = self._client
        if client is None:
            return ()
        if isinstance(client, RedisCluster):
            return (client,)
        return (client, client.connection_pool)

    def _variable(self, name: str) -> str:
        return self._runtime.config.variable_name(name, self._prefix)

    def _issue(self, problem: Problem) -> ConfigIssue:
        return ConfigIssue(
            self._variable(problem.field), problem.message, self._owner, problem.hint
        )

    def _scrub(self, text: str) -> str:
        # Drivers do not echo passwords today; this keeps it so if one ever does.
        return mask_secrets(text, (self._config.password.get_secret_value(),))


async def _close_quietly(client: Redis | RedisCluster) -> None:
    try:
        await client.aclose()
    except _CONNECT_ERRORS:
        log.debug("closing a client that never connected failed", exc_info=True)
