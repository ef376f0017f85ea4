"""Calling other services: typed channels that generated clients use.

A generated ``<Name>Client`` wraps a ``Channel``; the ``<Service>Services``
accessor takes its channels from the runtime's ``ChannelPool`` (``app.client``),
which finds each service's addresses through its resolvers
(``{PREFIX}_CLIENT_{SERVICE}_TARGET``, ``{PREFIX}_RESOLVER_ENDPOINTS``,
``{PREFIX}_RESOLVER_FILE``, then the ``ResolverSource`` objects added with
``add_source``) and balances calls over them with gRPC's ``round_robin``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.client._channel import Channel, ChannelSettings, GrpcChannel, RetrySettings
from lbtoolkit.client._config import GrpcClientConfig
from lbtoolkit.client._errors import ClientCallError, ClientInterceptorError
from lbtoolkit.client._incoming import IncomingCall, bind_incoming_call, incoming_call
from lbtoolkit.client._metrics import ClientMetrics
from lbtoolkit.client._pool import DEFAULT_GRPC_PORT, ChannelPool, target_variable
from lbtoolkit.client._sources import ResolverSource

__all__ = [
    "DEFAULT_GRPC_PORT",
    "Channel",
    "ChannelPool",
    "ChannelSettings",
    "ClientCallError",
    "ClientInterceptorError",
    "ClientMetrics",
    "GrpcChannel",
    "GrpcClientConfig",
    "IncomingCall",
    "ResolverSource",
    "RetrySettings",
    "bind_incoming_call",
    "incoming_call",
    "target_variable",
]

export(__name__, __all__)
