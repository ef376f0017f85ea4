"""The centrifuge plugin: a real-time node per prefix, fanned out through Redis."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

from lbtoolkit.config import ConfigError, ConfigIssue, mask_secrets
from lbtoolkit.plugins.centrifuge._broker import RedisSettings
from lbtoolkit.plugins.centrifuge._config import Config
from lbtoolkit.plugins.centrifuge._errors import CentrifugeConnectError
from lbtoolkit.plugins.centrifuge._node import Node
from lbtoolkit.plugins.redis._config import parse_addresses

if TYPE_CHECKING:
    from lbtoolkit.plugins.centrifuge._hooks import JSONValue
    from lbtoolkit.runtime import Runtime

__all__ = ["CHECK_TIMEOUT", "Options", "Plugin", "new_plugin"]

# As for the redis plugin: Kubernetes' default probe timeout.
CHECK_TIMEOUT = 1.0


class Plugin(Protocol):
    """What services call on a centrifuge plugin (the guide's ``CentrifugePlugin``)."""

    def node(self) -> Node:
        """The node: its WebSocket route, hooks and counters."""
        ...

    async def publish(self, channel: str, data: bytes | JSONValue) -> None:
        """Send ``data`` (JSON text as ``bytes``, or a JSON-able value) to ``channel``."""
        ...

    def info(self) -> str:
        """Write the variables and their values to stdout, secrets masked; return the text."""
        ...

    async def pre_start(self) -> None:
        """Connect to Redis (when configured) and start serving clients."""
        ...

    async def on_stop(self) -> None:
        """Disconnect every client (close code 3001) and close Redis."""
        ...


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is the prefix of its variables (``realtime``)."""

    name: str = "centrifuge"


def new_plugin(runtime: Runtime, options: Options) -> Plugin:
    """Parse the config under ``options.name``, build the node, register its readiness check."""
    return _CentrifugePlugin(runtime, options)


class _CentrifugePlugin:
    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name or "centrifuge"
        self._owner = f'plugin "{self._prefix}" (centrifuge)'
        self._config = runtime.config.parse(Config, self._prefix, owner=self._owner)
        self._problems: list[ConfigIssue] = []
        self._redis = self._redis_settings()
        self._node = Node(self._config, prefix=self._prefix, redis=self._redis)
        runtime.tools.probes.register_check(
            self._prefix, "readiness", self._node.check, timeout=CHECK_TIMEOUT
        )

    def node(self) -> Node:
        return self._node

    async def publish(self, channel: str, data: bytes | JSONValue) -> None:
        await self._node.publish(channel, data)

    def info(self) -> str:
        text = self._runtime.config.describe(self._owner, self._config)
        sys.stdout.write(text + "\n")
        return text

    async def pre_start(self) -> None:
        if self._problems:
            raise ConfigError(self._problems)
        try:
            await self._node.start()
        except (RedisError, OSError) as error:
            assert self._redis is not None  # noqa: S101 - only the Redis broker connects
            address = f"{self._redis.host}:{self._redis.port}"
            cause = mask_secrets(str(error), (self._redis.password,))
            variable = self._runtime.config.variable_name("REDIS_ADDR", self._prefix)
            raise CentrifugeConnectError(self._prefix, address, cause, variable=variable) from error

    async def on_stop(self) -> None:
        await self._node.stop()

    def _redis_settings(self) -> RedisSettings | None:
        config = self._config
        if not config.redis_addr.strip():
            return None
        try:
            addresses = parse_addresses(config.redis_addr)
        except ValueError as error:
            self._issue("REDIS_ADDR", str(error))
            return None
        if len(addresses) > 1:
            self._issue("REDIS_ADDR", "takes one address (Redis Cluster is not supported)")
            return None
        # Redis refuses client names with spaces; the name is what CLIENT LIST shows.
        name = re.sub(r"\s+", "_", f"{self._runtime.meta.name}.{self._prefix}")
        return RedisSettings(
            host=addresses[0].host,
            port=addresses[0].port,
            username=config.redis_username or None,
            password=config.redis_password.get_secret_value() or None,
            client_name=name,
            # Replicas of one service share it; other services and prefixes do not.
            channel_prefix=config.redis_channel_prefix or name,
        )

    def _issue(self, field: str, message: str) -> None:
        variable = self._runtime.config.variable_name(field, self._prefix)
        issue = ConfigIssue(variable, message, self._owner)
        self._problems.append(issue)
        self._runtime.config.add_issue(issue)
