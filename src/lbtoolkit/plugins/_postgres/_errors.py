"""Errors of the PostgreSQL plugins: each names the plugin and says what to do.

None of them ever holds a password: causes are scrubbed before they get here.
"""

from __future__ import annotations

from pathlib import Path

from lbtoolkit import LbToolkitError

__all__ = ["PostgresConnectError", "PostgresMigrationError", "PostgresStateError"]


class PostgresConnectError(LbToolkitError, ConnectionError):
    """The server could not be reached, or refused the plugin's connection.

    ``owner`` is ``plugin "<prefix>" (<kind>)``; ``address`` is ``host:port``;
    ``cause`` is the driver's message with any password masked; ``hint`` names
    the variables to check.
    """

    def __init__(
        self, owner: str, address: str, cause: str, *, attempts: int = 1, hint: str = ""
    ) -> None:
        super().__init__(owner, address, cause)
        self.owner = owner
        self.address = address
        self.cause = cause
        self.attempts = attempts
        self.hint = hint

    def __str__(self) -> str:
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        text = f"{self.owner}: cannot connect to {self.address}{tries}: {self.cause}"
        return f"{text}\nHint: {self.hint}" if self.hint else text


class PostgresStateError(LbToolkitError, RuntimeError):
    """A method was called when the plugin has no connection (not started, or stopped)."""

    def __init__(self, owner: str, method: str, state: str) -> None:
        super().__init__(owner, method, state)
        self.owner = owner
        self.method = method
        self.state = state

    def __str__(self) -> str:
        return (
            f"{self.owner}: {self.method}() called while the plugin is {self.state}\n"
            "Hint: use the plugin once the service has started (in handlers, "
            "invokes or start hooks), and not after it stopped"
        )


class PostgresMigrationError(LbToolkitError, RuntimeError):
    """Migrations could not be read or applied; ``path`` is the culprit file or folder.

    A migration that fails is rolled back with its version bump, so the
    database stays at the last version that applied cleanly.
    """

    def __init__(self, owner: str, path: Path | None, problem: str, *, hint: str = "") -> None:
        super().__init__(owner, path, problem)
        self.owner = owner
        self.path = path
        self.problem = problem
        self.hint = hint

    def __str__(self) -> str:
        where = f" {self.path}" if self.path is not None else ""
        text = f"{self.owner}: migration{where}: {self.problem}"
        return f"{text}\nHint: {self.hint}" if self.hint else text
