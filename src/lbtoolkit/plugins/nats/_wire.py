"""Names on the server (subjects, streams, consumers) and messages on the wire.

A service's events go to subjects ``{service}.{event}``, stored by the
stream named after the service (``STREAM`` overrides it) over ``{service}.>``.
A subscriber's durable consumer is ``{subscriber}:{service}:{event}``; what its
handler gives up on goes to ``{subscriber}-dlq.{service}.{event}``, stored by
the subscriber's stream ``{stream}-dlq``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lbtoolkit.plugins._messaging import (
    DEADLINE_HEADER,
    Delivery,
    HeaderValue,
    parse_deadline,
    retry_delay,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from nats.aio.msg import Msg

    from lbtoolkit.plugins._messaging import MessageScope

__all__ = [
    "ATTEMPTS_HEADER",
    "CONSUMER_HEADER",
    "ERROR_HEADER",
    "MESSAGE_ID_HEADER",
    "SEQUENCE_HEADER",
    "SUBJECT_HEADER",
    "consumer_name",
    "dead_letter_stream",
    "dead_letter_subject",
    "delivery_count",
    "delivery_of",
    "event_problem",
    "outgoing_headers",
    "retry_delay",
    "stream_name",
    "subject_root",
]

# JetStream drops a second message with the same id within its duplicate
# window: a publish sent again after a lost acknowledgement is stored once.
MESSAGE_ID_HEADER = "Nats-Msg-Id"
ATTEMPTS_HEADER = "Lbtoolkit-Attempts"
ERROR_HEADER = "Lbtoolkit-Error"
CONSUMER_HEADER = "Lbtoolkit-Consumer"
SUBJECT_HEADER = "Lbtoolkit-Subject"
SEQUENCE_HEADER = "Lbtoolkit-Sequence"

_NOT_IN_TOKENS = re.compile(r"[.*>\s]")
_NOT_IN_STREAM_NAMES = re.compile(r"[^A-Za-z0-9_-]")
_NOT_IN_EVENTS = re.compile(r"[*>\s]|^\.|\.$|\.\.")
# What NATS refuses in consumer names, besides what subjects refuse.
_NOT_IN_CONSUMER_NAMES = re.compile(r"[\s/\\]")
_MAX_ERROR_TEXT = 500


def subject_root(service: str) -> str:
    """The first token of a service's subjects: its name, with ``.``, ``*``, ``>`` as ``_``."""
    return _NOT_IN_TOKENS.sub("_", service) or "_"


def stream_name(service: str) -> str:
    """The default stream of a service's events: its name in the characters streams allow."""
    return _NOT_IN_STREAM_NAMES.sub("_", service) or "_"


def consumer_name(subscriber: str, service: str, event: str) -> str:
    """``{subscriber}:{service}:{event}``, with ``.`` as ``_``, ``*`` as ``+``, ``>`` as ``#``."""
    name = f"{subscriber}:{service}:{event}"
    name = name.replace(".", "_").replace("*", "+").replace(">", "#")
    return _NOT_IN_CONSUMER_NAMES.sub("_", name)


def dead_letter_stream(stream: str) -> str:
    """The stream keeping what a service's handlers gave up on."""
    return f"{stream}-dlq"


def dead_letter_subject(subscriber_root: str, subject: str) -> str:
    """Where a message of ``subject`` goes once its handler failed ``MAX_DELIVER`` times."""
    return f"{subscriber_root}-dlq.{subject}"


def event_problem(event: str) -> str:
    """Why ``event`` cannot be published (``""`` when it can)."""
    if not event or _NOT_IN_EVENTS.search(event):
        return (
            f"{event!r} is not an event name (dot-separated words; no spaces, no wildcards * or >)"
        )
    return ""


def outgoing_headers(message_id: str, headers: Mapping[str, HeaderValue] | None) -> dict[str, str]:
    """NATS headers are text: each value is written as ``str`` (bytes decoded as UTF-8)."""
    out = {MESSAGE_ID_HEADER: message_id}
    if headers:
        for name, value in headers.items():
            if isinstance(value, str):
                out[name] = value
            elif isinstance(value, bytes):
                out[name] = value.decode("utf-8", "replace")
            else:
                out[name] = "" if value is None else str(value)
    return out


def delivery_of(
    msg: Msg, service: str, prefix_length: int, attempt: int, scope: MessageScope | None
) -> Delivery:
    """What the handler gets; ``prefix_length`` is that of ``{service root}.``."""
    headers = dict(msg.headers) if msg.headers else {}
    message_id = headers.pop(MESSAGE_ID_HEADER, None)
    deadline = parse_deadline(headers[DEADLINE_HEADER]) if DEADLINE_HEADER in headers else None
    # Positional, in field order: built for every message.
    return Delivery(
        msg.subject[prefix_length:],
        service,
        msg.data,
        headers,
        message_id,
        attempt > 1,
        attempt,
        None,
        deadline,
        scope,
    )


def dead_letter_headers(
    msg: Msg, attempt: int, error: str, consumer: str, sequence: int
) -> dict[str, str]:
    """The message's own headers, plus why and after how many attempts it was given up."""
    headers = dict(msg.headers) if msg.headers else {}
    # One line, bounded: a header cannot hold a line break.
    text = " ".join(error.split())
    headers[ATTEMPTS_HEADER] = str(attempt)
    headers[ERROR_HEADER] = text[:_MAX_ERROR_TEXT]
    headers[CONSUMER_HEADER] = consumer
    headers[SUBJECT_HEADER] = msg.subject
    headers[SEQUENCE_HEADER] = str(sequence)
    return headers


# $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>;
# the newer form puts a domain and an account hash after ACK (and may end with a token).
_SHORT_ACK_TOKENS = 9


def delivery_count(reply: str) -> int:
    """How many times the server delivered a message, read from its reply subject.

    nats-py's ``Msg.metadata`` reads it too, with every other field and a
    datetime, at ten times the cost; a test holds the two to the same answer.
    Raises ``ValueError`` or ``IndexError`` for a reply that is no JetStream one.
    """
    tokens = reply.split(".")
    return int(tokens[4] if len(tokens) == _SHORT_ACK_TOKENS else tokens[6])
