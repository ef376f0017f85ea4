"""Errors of the mailer; none shows the password."""

from __future__ import annotations

from collections.abc import Mapping

from lbtoolkit import LbToolkitError

__all__ = ["MailerConnectionError", "MailerNotStartedError", "MailerSendError"]


class MailerConnectionError(LbToolkitError, ConnectionError):
    """The SMTP server could not be reached, refused the login or stopped answering."""

    def __init__(self, owner: str, host: str, port: int, cause: str, hint: str) -> None:
        super().__init__(owner, host, port, cause)
        self.owner = owner
        self.host = host
        self.port = port
        self.cause = cause
        self.hint = hint

    def __str__(self) -> str:
        return (
            f"{self.owner}: cannot talk to SMTP server {self.host}:{self.port}: "
            f"{self.cause}. Hint: {self.hint}"
        )


class MailerSendError(LbToolkitError, RuntimeError):
    """The server refused a mail, or some of its recipients.

    ``refused`` maps each refused address to the server's reply (empty when
    the whole mail was refused); ``cause`` says what happened.
    """

    def __init__(
        self, owner: str, subject: str, cause: str, refused: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(owner, subject, cause)
        self.owner = owner
        self.subject = subject
        self.cause = cause
        self.refused = dict(refused or {})

    def __str__(self) -> str:
        return f"{self.owner}: mail {self.subject!r} not sent: {self.cause}"


class MailerNotStartedError(LbToolkitError, RuntimeError):
    """``send`` or the health check ran before ``pre_start`` or after ``on_stop``."""

    def __init__(self, owner: str, action: str) -> None:
        super().__init__(owner, action)
        self.owner = owner
        self.action = action

    def __str__(self) -> str:
        return (
            f"{self.owner}: cannot {self.action}: the plugin is not started. "
            "Hint: send mail from handlers or start hooks, not from constructors"
        )
