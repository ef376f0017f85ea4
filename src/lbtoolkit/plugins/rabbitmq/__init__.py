"""RabbitMQ plugin (aio-pika): publish this service's events, subscribe to other services'.

Declared in a ``.proto`` file as ``plugin: "rabbitmq"``; variables are
``{SERVICE}_{PREFIX}_DSN``, ``_HOST``, ``_PORT``, ``_USERNAME``, ``_PASSWORD``,
``_VHOST``, ``_PREFETCH`` and a few more (``service --help --all`` lists them).

Delivery is at least once: durable exchanges and queues, persistent messages,
publisher confirms, acknowledgement after the handler returns, automatic
reconnection. Handlers must tolerate a message seen twice. Failed messages come
back after a growing delay held by the broker (delay queues), then go to a
dead-letter queue. ``WIRE_FORMAT=lastbackend`` speaks the Go toolkit's format.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins._messaging import DeliveryScopeError, within_deadline
from lbtoolkit.plugins.rabbitmq._config import Config, Options
from lbtoolkit.plugins.rabbitmq._delivery import Delivery, HeaderValue
from lbtoolkit.plugins.rabbitmq._errors import (
    RabbitMQConnectionError,
    RabbitMQDeclareError,
    RabbitMQHandlerError,
    RabbitMQNotConnectedError,
    RabbitMQPublishError,
)
from lbtoolkit.plugins.rabbitmq._factory import new_plugin, new_test_plugin
from lbtoolkit.plugins.rabbitmq._handlers import BytesHandler, Handler
from lbtoolkit.plugins.rabbitmq._plugin import Plugin, RabbitMQPlugin
from lbtoolkit.plugins.rabbitmq._subscription import Subscription

__all__ = [
    "BytesHandler",
    "Config",
    "Delivery",
    "DeliveryScopeError",
    "Handler",
    "HeaderValue",
    "Options",
    "Plugin",
    "RabbitMQConnectionError",
    "RabbitMQDeclareError",
    "RabbitMQHandlerError",
    "RabbitMQNotConnectedError",
    "RabbitMQPlugin",
    "RabbitMQPublishError",
    "Subscription",
    "new_plugin",
    "new_test_plugin",
    "within_deadline",
]

export(__name__, __all__)
