"""What a handler receives, and how messages are put on the wire."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode
from pamqp import commands

from lbtoolkit.plugins._messaging import (
    DEADLINE_HEADER,
    Delivery,
    HeaderValue,
    MessageScope,
    parse_deadline,
)

__all__ = [
    "ATTEMPTS_HEADER",
    "ERROR_HEADER",
    "RETRIES_HEADER",
    "Delivery",
    "HeaderValue",
    "Outgoing",
    "dead_letter_copy",
    "delivery_of",
    "one_line",
    "outgoing",
    "retries_of",
    "retry_copy",
]

# Failed deliveries travel back to the queue with this counter: classic queues
# do not count deliveries, and a redelivery after a lost connection is no failure.
RETRIES_HEADER = "x-lbtoolkit-retries"
# What the last attempt raised, one line, bounded: the next attempt and the dead letter see it.
ERROR_HEADER = "x-lbtoolkit-error"
# On a dead letter: handler runs it had (0 when given up unrun, past its deadline).
ATTEMPTS_HEADER = "x-lbtoolkit-attempts"
# The broker's own record of dead-letterings (the delay queues' expiries): not the publisher's.
_BROKER_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)
_MAX_ERROR_TEXT = 500


def delivery_of(
    message: AbstractIncomingMessage,
    service: str,
    event: str,
    scope: MessageScope | None,
    data: bytes | None = None,
) -> Delivery:
    """What the handler of ``service``'s ``event`` gets for ``message`` (``data``: its payload).

    ``scope`` is the delivery's request scope (``Consumer.scope``).
    """
    headers = dict(message.headers or ())
    retries, last_error, deadline = 0, None, None
    if headers:
        retries = _as_int(headers.pop(RETRIES_HEADER, 0))
        error = headers.pop(ERROR_HEADER, None)
        last_error = error.decode("utf-8", "replace") if isinstance(error, bytes) else error
        if "x-death" in headers:
            for name in _BROKER_HEADERS:
                headers.pop(name, None)
        if DEADLINE_HEADER in headers:
            deadline = parse_deadline(headers[DEADLINE_HEADER])
    # Positional, in field order: built for every message, and keywords cost more.
    return Delivery(
        event,
        message.app_id or service,
        message.body if data is None else data,
        headers,
        message.message_id,
        bool(message.redelivered),
        retries + 1,
        last_error if isinstance(last_error, str) else None,
        deadline,
        scope,
    )


class Outgoing(NamedTuple):
    """A message to publish: its body and its AMQP properties."""

    body: bytes
    properties: commands.Basic.Properties


def outgoing(
    service: str,
    event: str,
    data: bytes,
    headers: Mapping[str, HeaderValue] | None,
    kind: str | None = None,
) -> Outgoing:
    """A persistent message: ``kind`` (default: the event) in ``type``, publisher in ``app_id``.

    The properties are those ``aio_pika.Message(...).properties`` would give
    (empty headers and priority 0 included, so the bytes on the wire are the
    same), built directly: aio-pika's message object costs several times more
    per publish than the properties it is turned into.
    """
    return Outgoing(
        bytes(data),
        commands.Basic.Properties(
            app_id=service,
            delivery_mode=DeliveryMode.PERSISTENT,
            headers=dict(headers) if headers else {},
            # 32 hex digits like uuid4().hex (128 random bits, not 122) at a fraction of its cost.
            message_id=os.urandom(16).hex(),
            message_type=event if kind is None else kind,
            priority=0,
            timestamp=datetime.now(UTC),
        ),
    )


def retries_of(message: AbstractIncomingMessage) -> int:
    """How many times this message's handler already failed."""
    return _as_int((message.headers or {}).get(RETRIES_HEADER, 0))


def one_line(error: str) -> str:
    """An error's text as one bounded line, fit for a header."""
    return " ".join(error.split())[:_MAX_ERROR_TEXT]


def retry_copy(
    message: AbstractIncomingMessage,
    retries: int,
    error: str | None = None,
    expiration_ms: int | None = None,
    attempts: int | None = None,
) -> aio_pika.Message:
    """The same message with its failure counter set to ``retries`` and the error that failed it.

    ``expiration_ms`` is how long it waits in a delay queue before the broker
    sends it back to the work queue.
    """
    # The broker's x-death record stays: the dead letter shows each delay queue it went through.
    headers = dict(message.headers or {})
    headers[RETRIES_HEADER] = retries
    if error is not None:
        headers[ERROR_HEADER] = one_line(error)
    if attempts is not None:
        headers[ATTEMPTS_HEADER] = attempts
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
        expiration=None if expiration_ms is None else expiration_ms / 1000,
    )


def dead_letter_copy(
    message: AbstractIncomingMessage, attempts: int, error: str
) -> aio_pika.Message:
    """The message as the dead-letter queue keeps it: why, and after how many handler runs."""
    return retry_copy(message, max(attempts - 1, 0), error, attempts=attempts)


def _as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
