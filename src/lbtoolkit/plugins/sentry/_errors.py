"""Errors of the Sentry plugin; none shows the DSN."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.plugins._support import PluginConnectionError

__all__ = ["SentryConnectionError", "SentryNotStartedError"]


class SentryConnectionError(PluginConnectionError):
    """``CHECK_CONNECTION`` is on and the DSN's host refused or timed out."""


class SentryNotStartedError(LbToolkitError, RuntimeError):
    """The readiness check ran while the SDK was not (or no longer) set up by this plugin."""

    def __init__(self, owner: str, state: str) -> None:
        super().__init__(owner, state)
        self.owner = owner
        self.state = state

    def __str__(self) -> str:
        return f"{self.owner}: {self.state}"
