"""Calling other services: typed channels that generated clients use.

A generated ``<Name>Client`` wraps a ``Channel``; the ``<Service>Services``
accessor takes its channels from a ``ChannelPool``, which resolves each
service's address from ``{ENV_PREFIX}_CLIENT_{SERVICE}_TARGET``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.client._channel import Channel, GrpcChannel
from lbtoolkit.client._pool import DEFAULT_GRPC_PORT, ChannelPool, target_variable

__all__ = ["DEFAULT_GRPC_PORT", "Channel", "ChannelPool", "GrpcChannel", "target_variable"]

export(__name__, __all__)
