"""The two shapes of a subscription handler, told apart once, when subscribing.

The broker-neutral reading lives in :mod:`lbtoolkit.plugins._messaging`; this
module only names the RabbitMQ subscription in the error a refused handler gets.
"""

from __future__ import annotations

from lbtoolkit.plugins import _messaging
from lbtoolkit.plugins._messaging import BytesHandler, Handler
from lbtoolkit.plugins.rabbitmq._errors import RabbitMQHandlerError

__all__ = ["BytesHandler", "Handler", "as_delivery_handler"]


def as_delivery_handler(handler: Handler | BytesHandler, owner: str, subject: str) -> Handler:
    """``handler`` as a delivery handler, by its first parameter's annotation.

    ``owner`` and ``subject`` (``service/event``) name the subscription when
    ``handler`` is refused with :class:`RabbitMQHandlerError`.
    """

    def refuse(name: str, problem: str) -> RabbitMQHandlerError:
        return RabbitMQHandlerError(owner, subject, name, problem)

    return _messaging.as_delivery_handler(handler, refuse)
