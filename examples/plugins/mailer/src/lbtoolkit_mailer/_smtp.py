"""One SMTP connection over the standard library's smtplib; every method blocks.

The plugin runs these methods in worker threads (``asyncio.to_thread``).
A threading lock, not an asyncio one, keeps one command at a time on the
socket: a cancelled await leaves its thread running, and the lock is held
until that thread is done with the connection.
"""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["SmtpConnection", "SmtpSettings"]

_OK = 250


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    timeout: float


class SmtpConnection:
    """A logged-in SMTP session that reconnects once when the server dropped it."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        with self._lock:
            self._smtp = self._connect()

    def noop(self) -> None:
        """Send NOOP and expect 250: the server is there and answering."""
        with self._lock:
            try:
                _expect_ok(self._smtp.noop())
            except smtplib.SMTPServerDisconnected:
                self._smtp = self._connect()

    def send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Send ``message`` to its ``To`` addresses; return the refused ones."""
        with self._lock:
            try:
                return self._smtp.send_message(message)
            except smtplib.SMTPServerDisconnected:
                # Servers close idle sessions (often after a few minutes); the
                # mail was not accepted, so it goes again on a new session.
                self._smtp = self._connect()
                return self._smtp.send_message(message)

    def close(self) -> None:
        """Say QUIT and close the socket (a server already gone is fine)."""
        with self._lock:
            try:
                self._smtp.quit()
            except smtplib.SMTPServerDisconnected:
                pass
            finally:
                self._smtp.close()

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        smtp = smtplib.SMTP(timeout=settings.timeout)
        try:
            smtp.connect(settings.host, settings.port)
            smtp.ehlo_or_helo_if_needed()
            if settings.username:
                smtp.login(settings.username, settings.password)
            # A greeting proves little; a command answered proves the session works.
            _expect_ok(smtp.noop())
        except BaseException:
            smtp.close()
            raise
        return smtp


def _expect_ok(reply: tuple[int, bytes]) -> None:
    code, text = reply
    if code != _OK:
        raise smtplib.SMTPResponseException(code, text)
