"""The centrifuge plugin's environment variables."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, SecretStr

from lbtoolkit.config import PositiveDuration, PositiveInt, env

__all__ = ["Config"]


class Config(BaseModel):
    """Variables read as ``{SERVICE}_{PREFIX}_{NAME}`` (the guide lists none for centrifuge)."""

    redis_addr: str = env(
        "REDIS_ADDR",
        default="",
        comment="Redis address (host:port) that fans publications out to every replica; "
        "empty keeps them on this replica",
    )
    redis_username: str = env("REDIS_USERNAME", default="", comment="Redis username")
    redis_password: SecretStr = env(
        "REDIS_PASSWORD", default=SecretStr(""), comment="Redis password"
    )
    redis_channel_prefix: str = env(
        "REDIS_CHANNEL_PREFIX",
        default="",
        comment="Prefix of the Redis pub/sub channels; empty: the service name and plugin prefix",
    )
    client_queue_max_size: PositiveInt = env(
        "CLIENT_QUEUE_MAX_SIZE",
        default=1_048_576,
        comment="Bytes waiting to be sent to one client before it is disconnected as slow",
    )
    client_channel_limit: PositiveInt = env(
        "CLIENT_CHANNEL_LIMIT", default=128, comment="Channels one client may subscribe to"
    )
    connect_timeout: PositiveDuration = env(
        "CONNECT_TIMEOUT",
        default=dt.timedelta(seconds=10),
        comment="Time a new connection has to send its connect command",
    )
