"""A real-time node inside the service: WebSocket clients, channels, publications.

``node()`` gives the node (its Starlette WebSocket route, hooks and
counters), ``publish(channel, data)`` sends to every subscriber on every
replica (through Redis pub/sub when ``{SERVICE}_{PREFIX}_REDIS_ADDR`` is set).
The wire protocol is a small JSON one, documented in ``docs/plugins/centrifuge.md``;
it is not Centrifugo's.
"""

from __future__ import annotations

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

# Tracebacks and reprs show the public path, not the private module. The
# handler aliases are typing constructs without a settable module.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) or (callable(_value) and hasattr(_value, "__code__")):
        _value.__module__ = __name__
del _name, _value
