"""Options and variables of the outbox plugin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, Field

from lbtoolkit.config import Kind, PositiveDuration, env

__all__ = ["Config", "Options"]

# An inbox row must outlive the broker's redelivery window, which may be days.
_Retention = Annotated[
    dt.timedelta,
    Field(gt=dt.timedelta(0), le=dt.timedelta(days=365)),
    Kind("duration"),
]
_BatchSize = Annotated[int, Field(ge=1, le=10_000)]


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is its prefix (``{SERVICE}_{NAME}_POLL_INTERVAL``).

    ``database`` and ``broker`` hand the plugin instances over directly (tests,
    hand-written services); when left out, the plugin finds them at start
    among the service's plugins by the prefixes in ``DATABASE`` and ``BROKER``.
    """

    name: str = "outbox"
    database: object | None = None
    broker: object | None = None


class Config(BaseModel):
    """One field per variable: ``{SERVICE}_{PREFIX}_DATABASE``, ``_BROKER``, ..."""

    database: str = env(
        "DATABASE",
        default="",
        comment="Prefix of the PostgreSQL plugin holding the outbox and inbox tables "
        "(empty: the service's only PostgreSQL plugin)",
    )
    broker: str = env(
        "BROKER",
        default="",
        comment="Prefix of the broker plugin (rabbitmq or nats) the relay publishes to "
        "(empty: the service's only broker plugin)",
    )
    poll_interval: PositiveDuration = env(
        "POLL_INTERVAL",
        default="1s",
        comment="How often the relay looks for messages when no notification woke it",
    )
    batch_size: _BatchSize = env(
        "BATCH_SIZE",
        default=500,
        comment="Most messages one relay round sends (one transaction)",
    )
    retry_backoff: PositiveDuration = env(
        "RETRY_BACKOFF",
        default="500ms",
        comment="Wait before a message whose publish failed is tried again; doubles per failure",
    )
    max_retry_backoff: PositiveDuration = env(
        "MAX_RETRY_BACKOFF",
        default="1m",
        comment="Longest wait between two tries of one message",
    )
    stop_timeout: PositiveDuration = env(
        "STOP_TIMEOUT",
        default="10s",
        comment="Time the relay may take at stop to finish the round it is sending",
    )
    inbox_retention: _Retention = env(
        "INBOX_RETENTION",
        default="168h",
        comment="How long an idempotent consumer remembers a message id; "
        "must exceed the longest time a message may be delivered again",
    )
    inbox_cleanup_interval: PositiveDuration = env(
        "INBOX_CLEANUP_INTERVAL",
        default="10m",
        comment="How often inbox rows older than INBOX_RETENTION are deleted",
    )
