"""What a handler receives, and how messages are put on the wire."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode

from lbtoolkit.plugins._messaging import Delivery, HeaderValue

__all__ = [
    "RETRIES_HEADER",
    "Delivery",
    "HeaderValue",
    "delivery_of",
    "outgoing",
    "retries_of",
    "retry_copy",
]

# Failed deliveries travel back to the queue with this counter: classic queues
# do not count deliveries, and a redelivery after a lost connection is no failure.
RETRIES_HEADER = "x-lbtoolkit-retries"


def delivery_of(message: AbstractIncomingMessage, service: str, event: str) -> Delivery:
    """What the handler of ``service``'s ``event`` gets for ``message``."""
    headers = dict(message.headers or ())
    retries = _as_int(headers.pop(RETRIES_HEADER, 0)) if headers else 0
    # Positional, in field order: built for every message, and keywords cost more.
    return Delivery(
        message.type or event,
        message.app_id or service,
        message.body,
        headers,
        message.message_id,
        bool(message.redelivered),
        retries + 1,
    )


def outgoing(
    service: str, event: str, data: bytes, headers: Mapping[str, HeaderValue] | None
) -> aio_pika.Message:
    """A persistent message: event name in ``type``, publisher in ``app_id``."""
    return aio_pika.Message(
        body=bytes(data),
        headers=dict(headers) if headers else None,
        type=event,
        app_id=service,
        # 32 hex digits like uuid4().hex (128 random bits, not 122) at a fraction of its cost.
        message_id=os.urandom(16).hex(),
        timestamp=datetime.now(UTC),
        delivery_mode=DeliveryMode.PERSISTENT,
    )


def retries_of(message: AbstractIncomingMessage) -> int:
    """How many times this message's handler already failed."""
    return _as_int((message.headers or {}).get(RETRIES_HEADER, 0))


def retry_copy(message: AbstractIncomingMessage, retries: int) -> aio_pika.Message:
    """The same message with its failure counter set to ``retries``."""
    headers = dict(message.headers or {})
    headers[RETRIES_HEADER] = retries
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        type=message.type,
        app_id=message.app_id,
        message_id=message.message_id,
        timestamp=message.timestamp,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        correlation_id=message.correlation_id,
        delivery_mode=DeliveryMode.PERSISTENT,
    )


def _as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
