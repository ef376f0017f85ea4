"""Errors of the outbox plugin: each names the plugin and says what to do."""

from __future__ import annotations

from lbtoolkit import LbToolkitError

__all__ = ["OutboxDependencyError", "OutboxMessageError", "OutboxStateError"]


class OutboxDependencyError(LbToolkitError, LookupError):
    """The database or broker plugin the outbox needs cannot be found or used.

    ``variable`` is the variable that chose it (``SVC_OUTBOX_DATABASE``);
    ``problem`` says what is wrong.
    """

    def __init__(self, owner: str, variable: str, problem: str, *, hint: str = "") -> None:
        super().__init__(owner, variable, problem)
        self.owner = owner
        self.variable = variable
        self.problem = problem
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.owner}: {self.variable}: {self.problem}"
        return f"{text}\nHint: {self.hint}" if self.hint else text


class OutboxStateError(LbToolkitError, RuntimeError):
    """A method that needs the database was called before ``pre_start`` or after ``on_stop``."""

    def __init__(self, owner: str, method: str, state: str) -> None:
        super().__init__(owner, method, state)
        self.owner = owner
        self.method = method
        self.state = state

    def __str__(self) -> str:
        return (
            f"{self.owner}: {self.method}() called while the plugin is {self.state}\n"
            "Hint: use the outbox once the service has started (in handlers, "
            "invokes or start hooks), and not after it stopped"
        )


class OutboxMessageError(LbToolkitError, ValueError):
    """``tx.publish`` was given a message the outbox cannot store (``problem`` says why)."""

    def __init__(self, owner: str, event: str, problem: str) -> None:
        super().__init__(owner, event, problem)
        self.owner = owner
        self.event = event
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.owner}: cannot store event {self.event!r}: {self.problem}"
