"""A real-time node inside the service: WebSocket clients, channels, publications.

``node()`` gives the node (its Starlette WebSocket route, hooks and
counters), ``publish(channel, data)`` sends to every subscriber on every
replica (through Redis pub/sub when ``{SERVICE}_{PREFIX}_REDIS_ADDR`` is set).
The wire protocol is a small JSON one, documented in ``docs/plugins/centrifuge.md``;
it is not Centrifugo's.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins.centrifuge._config import Config
from lbtoolkit.plugins.centrifuge._errors import (
    CentrifugeConnectError,
    CentrifugePublishError,
    CentrifugeStateError,
    CentrifugeValueError,
)
from lbtoolkit.plugins.centrifuge._hooks import (
    ConnectHandler,
    ConnectRequest,
    DisconnectHandler,
    JSONValue,
    PublishHandler,
    SubscribeHandler,
)
from lbtoolkit.plugins.centrifuge._node import Node
from lbtoolkit.plugins.centrifuge._plugin import Options, Plugin, new_plugin
from lbtoolkit.plugins.centrifuge._session import Client
from lbtoolkit.plugins.centrifuge._testing import new_test_plugin

__all__ = [
    "CentrifugeConnectError",
    "CentrifugePublishError",
    "CentrifugeStateError",
    "CentrifugeValueError",
    "Client",
    "Config",
    "ConnectHandler",
    "ConnectRequest",
    "DisconnectHandler",
    "JSONValue",
    "Node",
    "Options",
    "Plugin",
    "PublishHandler",
    "SubscribeHandler",
    "new_plugin",
    "new_test_plugin",
]

export(__name__, __all__)
