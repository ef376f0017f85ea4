"""Channels to other services by name, with targets from the environment."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from lbtoolkit.client._channel import Channel, GrpcChannel

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["DEFAULT_GRPC_PORT", "ChannelPool", "target_variable"]

# The gRPC server's default port, so ``service:9000`` reaches a service by its
# DNS name (a Kubernetes Service, a compose service) without configuration.
DEFAULT_GRPC_PORT = 9000


def target_variable(env_prefix: str, service: str) -> str:
    """The variable holding the address of ``service``: ``{PREFIX}_CLIENT_{SERVICE}_TARGET``."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", service).strip("_").upper()
    return "_".join(part for part in (env_prefix.upper(), "CLIENT", name, "TARGET") if part)


class ChannelPool:
    """One channel per service name, opened lazily and closed together.

    The target of service ``users`` with prefix ``MYSERVICE`` comes from
    ``MYSERVICE_CLIENT_USERS_TARGET`` (any gRPC target: ``host:port``,
    ``dns:///host:port``), else ``users:9000``.
    """

    def __init__(
        self,
        *,
        env_prefix: str = "",
        environ: Mapping[str, str] | None = None,
        factory: Callable[[str], Channel] = GrpcChannel,
    ) -> None:
        self._env_prefix = env_prefix
        self._environ = os.environ if environ is None else environ
        self._factory = factory
        self._channels: dict[str, Channel] = {}

    def target(self, service: str) -> str:
        variable = target_variable(self._env_prefix, service)
        return self._environ.get(variable) or f"{service}:{DEFAULT_GRPC_PORT}"

    def channel(self, service: str) -> Channel:
        """The channel to ``service``, created on first use."""
        channel = self._channels.get(service)
        if channel is None:
            channel = self._channels[service] = self._factory(self.target(service))
        return channel

    async def close(self) -> None:
        """Close every channel opened so far."""
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
