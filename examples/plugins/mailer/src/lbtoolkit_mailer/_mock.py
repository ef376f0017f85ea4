"""A mailer for unit tests: it records what it is asked to send."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from lbtoolkit_mailer._plugin import recipients

__all__ = ["RecordingMailer", "SentMail"]


@dataclass(frozen=True, slots=True)
class SentMail:
    """One call of ``send``: its recipients, subject and body."""

    to: tuple[str, ...]
    subject: str
    body: str


class RecordingMailer:
    """A :class:`~lbtoolkit_mailer.Plugin` that keeps every mail in ``sent``; nothing connects.

    Give it to the code under test where a service would inject the plugin.
    It refuses what the real mailer refuses before talking to a server (no
    recipient), so a test cannot pass on a call that would fail in production.
    """

    def __init__(self) -> None:
        self.sent: list[SentMail] = []

    async def send(self, to: str | Sequence[str], subject: str, body: str) -> None:
        """Record the mail."""
        self.sent.append(SentMail(recipients(to, "recording mailer", subject), subject, body))

    async def health_check(self) -> None:
        """Always ready: there is no server to lose."""

    def info(self) -> str:
        """Print how many mails were recorded; return the text."""
        text = f"recording mailer: {len(self.sent)} mail(s) recorded"
        sys.stdout.write(text + "\n")
        return text
