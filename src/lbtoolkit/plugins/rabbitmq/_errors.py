"""Errors of the RabbitMQ plugin; each names the plugin and never shows a password."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.plugins._messaging import BrokerNotConnectedError
from lbtoolkit.plugins._support import PluginConnectionError

__all__ = [
    "RabbitMQConnectionError",
    "RabbitMQDeclareError",
    "RabbitMQHandlerError",
    "RabbitMQNotConnectedError",
    "RabbitMQPublishError",
]


class RabbitMQConnectionError(PluginConnectionError):
    """The broker could not be reached, or refused the login, at start."""


class RabbitMQNotConnectedError(BrokerNotConnectedError):
    """``publish``/``channel`` was called before ``pre_start`` or after ``on_stop``."""


class RabbitMQPublishError(LbToolkitError, RuntimeError):
    """The broker did not confirm a message in time, or refused it."""

    def __init__(self, owner: str, exchange: str, event: str, reason: str) -> None:
        super().__init__(owner, exchange, event, reason)
        self.owner = owner
        self.exchange = exchange
        self.event = event
        self.reason = reason

    def __str__(self) -> str:
        where = f"to exchange {self.exchange!r}"
        return f"{self.owner}: publishing {self.event!r} {where} failed: {self.reason}"


class RabbitMQDeclareError(LbToolkitError, RuntimeError):
    """Declaring an exchange or a subscription's queue (or consuming from it) failed."""

    def __init__(self, owner: str, what: str, cause: str) -> None:
        super().__init__(owner, what, cause)
        self.owner = owner
        self.what = what
        self.cause = cause

    def __str__(self) -> str:
        return (
            f"{self.owner}: declaring {self.what} failed: {self.cause}. Hint: one declared "
            "earlier with other arguments must be deleted first (the Go toolkit declares "
            "its exchanges as fanout, these are topic)"
        )


class RabbitMQHandlerError(LbToolkitError, TypeError):
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
