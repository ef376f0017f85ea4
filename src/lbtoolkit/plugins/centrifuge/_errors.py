"""Errors of the centrifuge plugin: each names the plugin prefix."""

from __future__ import annotations

from lbtoolkit import LbToolkitError

__all__ = [
    "CentrifugeConnectError",
    "CentrifugePublishError",
    "CentrifugeStateError",
    "CentrifugeValueError",
]


class CentrifugeConnectError(LbToolkitError, ConnectionError):
    """Redis could not be reached when the plugin started (the password never shows)."""

    def __init__(self, prefix: str, address: str, cause: str, *, variable: str) -> None:
        super().__init__(prefix, address, cause)
        self.prefix = prefix
        self.address = address
        self.cause = cause
        self.variable = variable

    def __str__(self) -> str:
        return (
            f'plugin "{self.prefix}" (centrifuge): cannot connect to Redis at {self.address}: '
            f"{self.cause}\nHint: check that Redis is running there, or point {self.variable} "
            "at it (empty keeps publications on one replica)"
        )


class CentrifugePublishError(LbToolkitError, ConnectionError):
    """A publication could not be handed to Redis."""

    def __init__(self, prefix: str, channel: str, cause: str) -> None:
        super().__init__(prefix, channel, cause)
        self.prefix = prefix
        self.channel = channel
        self.cause = cause

    def __str__(self) -> str:
        return (
            f'plugin "{self.prefix}" (centrifuge): publish to {self.channel!r} failed: {self.cause}'
        )


class CentrifugeStateError(LbToolkitError, RuntimeError):
    """The node was used while the plugin is not started."""

    def __init__(self, prefix: str, action: str) -> None:
        super().__init__(prefix, action)
        self.prefix = prefix
        self.action = action

    def __str__(self) -> str:
        return (
            f'plugin "{self.prefix}" (centrifuge): cannot {self.action}: the plugin is not '
            "started\nHint: publish from code that runs after the plugins' pre_start and "
            "before on_stop"
        )


class CentrifugeValueError(LbToolkitError, ValueError):
    """A channel name or publication data that cannot be sent."""

    def __init__(self, prefix: str, channel: str, problem: str) -> None:
        super().__init__(prefix, channel, problem)
        self.prefix = prefix
        self.channel = channel
        self.problem = problem

    def __str__(self) -> str:
        plugin = f'plugin "{self.prefix}" (centrifuge)'
        return f"{plugin}: cannot publish to {self.channel!r}: {self.problem}"
