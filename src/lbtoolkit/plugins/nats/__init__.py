"""NATS JetStream plugin (nats-py): publish this service's events, subscribe to other services'.

Declared in a ``.proto`` file as ``plugin: "nats"``; variables are
``{SERVICE}_{PREFIX}_URL`` or ``_ADDR``, ``_USERNAME``, ``_PASSWORD``, ``_TOKEN``,
``_MAX_DELIVER``, ``_RETRY_DELAY`` and a few more (``service --help --all``
lists them).

The handler API is the rabbitmq plugin's (``publish``, ``subscribe``,
:class:`Delivery`), so a service can move between the two brokers. Delivery
is at least once: file-backed streams, JetStream acknowledgements on publish,
durable pull consumers with explicit acks, redelivery with a growing delay,
dead-lettering after ``MAX_DELIVER`` deliveries. Handlers must tolerate a
message seen twice.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins._messaging import (
    BytesHandler,
    Delivery,
    DeliveryScopeError,
    Handler,
    HeaderValue,
    within_deadline,
)
from lbtoolkit.plugins.nats._config import Config, Options
from lbtoolkit.plugins.nats._errors import (
    NatsConnectionError,
    NatsDeclareError,
    NatsHandlerError,
    NatsNotConnectedError,
    NatsPublishError,
)
from lbtoolkit.plugins.nats._factory import new_plugin, new_test_plugin
from lbtoolkit.plugins.nats._plugin import NatsPlugin, Plugin
from lbtoolkit.plugins.nats._subscription import Subscription

__all__ = [
    "BytesHandler",
    "Config",
    "Delivery",
    "DeliveryScopeError",
    "Handler",
    "HeaderValue",
    "NatsConnectionError",
    "NatsDeclareError",
    "NatsHandlerError",
    "NatsNotConnectedError",
    "NatsPlugin",
    "NatsPublishError",
    "Options",
    "Plugin",
    "Subscription",
    "new_plugin",
    "new_test_plugin",
    "within_deadline",
]

export(__name__, __all__)
