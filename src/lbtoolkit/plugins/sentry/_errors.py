"""Errors of the Sentry plugin; none shows the DSN."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError

__all__ = ["SentryConnectionError", "SentryNotStartedError"]


class SentryConnectionError(LbToolkitError, ConnectionError):
    """``CHECK_CONNECTION`` is on and the DSN's host refused or timed out."""

    def __init__(self, owner: str, host: str, port: int, cause: str, hint: str) -> None:
        super().__init__(owner, host, port, cause)
        self.owner = owner
        self.host = host
        self.port = port
        self.cause = cause
        self.hint = hint

    def __str__(self) -> str:
        return (
            f"{self.owner}: cannot connect to {self.host}:{self.port}: {self.cause}. "
            f"Hint: {self.hint}"
        )


class SentryNotStartedError(LbToolkitError, RuntimeError):
    """The readiness check ran while the SDK was not (or no longer) set up by this plugin."""

    def __init__(self, owner: str, state: str) -> None:
        super().__init__(owner, state)
        self.owner = owner
        self.state = state

    def __str__(self) -> str:
        return f"{self.owner}: {self.state}"
