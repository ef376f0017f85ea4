"""Errors of the NATS plugin; each names the plugin and never shows a password or token."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.plugins._messaging import BrokerNotConnectedError
from lbtoolkit.plugins._support import PluginConnectionError

__all__ = [
    "NatsConnectionError",
    "NatsDeclareError",
    "NatsHandlerError",
    "NatsNotConnectedError",
    "NatsPublishError",
]


class NatsConnectionError(PluginConnectionError):
    """The server could not be reached, or refused the login, at start."""


class NatsNotConnectedError(BrokerNotConnectedError):
    """``publish`` or ``jetstream`` was called before ``pre_start`` or after ``on_stop``."""


class NatsPublishError(LbToolkitError, RuntimeError):
    """JetStream did not acknowledge a message in time, or refused it."""

    def __init__(self, owner: str, subject: str, event: str, reason: str) -> None:
        super().__init__(owner, subject, event, reason)
        self.owner = owner
        self.subject = subject
        self.event = event
        self.reason = reason

    def __str__(self) -> str:
        where = f"to subject {self.subject!r}"
        return f"{self.owner}: publishing {self.event!r} {where} failed: {self.reason}"


class NatsDeclareError(LbToolkitError, RuntimeError):
    """Creating a stream or a subscription's consumer failed."""

    def __init__(self, owner: str, what: str, cause: str) -> None:
        super().__init__(owner, what, cause)
        self.owner = owner
        self.what = what
        self.cause = cause

    def __str__(self) -> str:
        return (
            f"{self.owner}: declaring {self.what} failed: {self.cause}. Hint: a stream or "
            "consumer made earlier with other settings must be changed or deleted first "
            "(nats stream info / nats consumer info show them), and JetStream must be enabled "
            "on the server (nats-server -js)"
        )


class NatsHandlerError(LbToolkitError, TypeError):
    """``subscribe`` was given a handler that is not async, or of neither accepted shape."""

    def __init__(self, owner: str, subject: str, handler: str, problem: str) -> None:
        super().__init__(owner, subject, handler, problem)
        self.owner = owner
        self.subject = subject
        self.handler = handler
        self.problem = problem

    def __str__(self) -> str:
        return (
            f"{self.owner}: cannot subscribe {self.handler} to {self.subject}: {self.problem}. "
            "Hint: annotate its first parameter as bytes, to receive the payload "
            "(async def handle(data: bytes) -> None), or as Delivery, to receive the payload "
            "with its event, headers and attempt (async def handle(delivery: Delivery) -> None)"
        )
