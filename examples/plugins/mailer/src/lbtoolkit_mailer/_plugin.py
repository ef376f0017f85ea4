"""The mailer: ``send(to, subject, body)`` over one SMTP session per plugin instance."""

from __future__ import annotations

import asyncio
import smtplib
import sys
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar

from lbtoolkit_mailer._config import Config, Options
from lbtoolkit_mailer._errors import MailerConnectionError, MailerNotStartedError, MailerSendError
from lbtoolkit_mailer._smtp import SmtpConnection, SmtpSettings

if TYPE_CHECKING:
    from lbtoolkit import Runtime

__all__ = ["MailerPlugin", "Plugin", "recipients"]

P = ParamSpec("P")
R = TypeVar("R")

# Below the probes' default of 5s, so a slow server reads as "not ready", not as a hung probe.
_READINESS_TIMEOUT = 3.0


class Plugin(Protocol):
    """Sending email; what services and handlers call."""

    async def send(self, to: str | Sequence[str], subject: str, body: str) -> None:
        """Send a plain-text mail from ``FROM`` to one address or several."""
        ...

    async def health_check(self) -> None:
        """Raise unless the SMTP server answers (the readiness check)."""
        ...

    def info(self) -> str:
        """Print the plugin's variables and values (password masked); return the text."""
        ...


class MailerPlugin:
    """The implementation behind :class:`Plugin`; build it with ``new_plugin``."""

    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name
        self._owner = f'plugin "{options.name}" (mailer)'
        self._log = runtime.log.getChild(options.name)
        # Never raises: bad variables are reported with all others when the service starts.
        self.config = runtime.config.parse(Config, options.name, owner=self._owner)
        self._connection: SmtpConnection | None = None
        # The check lives next to the connection it checks; the probes server only runs it.
        runtime.tools.probes.register_check(
            options.name, "readiness", self.health_check, timeout=_READINESS_TIMEOUT
        )

    # -- lifecycle -------------------------------------------------------------
    async def pre_start(self) -> None:
        """Connect, log in when ``USERNAME`` is set, and check the session with NOOP."""
        config = self.config
        settings = SmtpSettings(
            host=config.host,
            port=config.port,
            username=config.username,
            password=config.password.get_secret_value(),
            timeout=config.timeout.total_seconds(),
        )
        self._connection = await self._talk(SmtpConnection, settings)
        self._log.info(
            "%s sends mail through %s:%s as %s",
            self._owner,
            config.host,
            config.port,
            config.sender,
        )

    async def on_stop(self) -> None:
        """Say QUIT and close the connection."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._talk(connection.close)

    # -- the plugin's API ------------------------------------------------------
    async def send(self, to: str | Sequence[str], subject: str, body: str) -> None:
        """Send a plain-text mail from ``FROM`` to one address or several.

        Raises ``MailerSendError`` when the server refuses the mail or any
        recipient (the others still get it), ``MailerConnectionError`` when
        the server cannot be reached.
        """
        connection = self._started(f"send mail {subject!r}")
        message = self._compose(recipients(to, self._owner, subject), subject, body)
        try:
            refused = await self._talk(connection.send, message)
        except smtplib.SMTPRecipientsRefused as error:
            raise self._refused(subject, error.recipients, "nobody got it") from error
        except smtplib.SMTPSenderRefused as error:
            cause = f"the server refused sender {error.sender}: {_reply(error)}"
            raise MailerSendError(self._owner, subject, cause) from error
        except smtplib.SMTPDataError as error:
            cause = f"the server refused the message: {_reply(error)}"
            raise MailerSendError(self._owner, subject, cause) from error
        if refused:
            raise self._refused(subject, refused, "the other recipients got it")

    async def health_check(self) -> None:
        """Raise unless the SMTP server answers NOOP (a dropped session is reopened)."""
        connection = self._started("check the SMTP server")
        await self._talk(connection.noop)

    def info(self) -> str:
        """Print the plugin's variables and values (password masked); return the text."""
        text = self._runtime.config.describe(self._owner, self.config)
        sys.stdout.write(text + "\n")
        return text

    # -- internals -------------------------------------------------------------
    def _started(self, action: str) -> SmtpConnection:
        if self._connection is None:
            raise MailerNotStartedError(self._owner, action)
        return self._connection

    def _compose(self, to: tuple[str, ...], subject: str, body: str) -> EmailMessage:
        sender = self.config.sender
        message = EmailMessage()
        try:
            message["From"] = sender
            message["To"] = ", ".join(to)
            message["Subject"] = subject
        except ValueError as error:  # a line break would let the value add headers
            raise MailerSendError(self._owner, subject, str(error)) from error
        message["Date"] = formatdate(localtime=True)
        # The sender's domain, not socket.getfqdn(): that may wait on DNS.
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
        message.set_content(body)
        return message

    async def _talk(self, call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking SMTP call in a thread; network failures name host, port and hint."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except smtplib.SMTPAuthenticationError as error:
            hint = f"check {self._variable('USERNAME')} and {self._variable('PASSWORD')}"
            raise self._unreachable(f"login refused: {_reply(error)}", hint) from error
        except smtplib.SMTPNotSupportedError as error:
            hint = f"unset {self._variable('USERNAME')}: this server offers no login"
            raise self._unreachable(str(error), hint) from error
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # the server answered: ``send`` reports these
        except OSError as error:  # smtplib's errors, refused connections and timeouts alike
            hint = (
                f"check {self._variable('HOST')} and {self._variable('PORT')}, "
                "and that the server is reachable from here"
            )
            raise self._unreachable(_describe(error), hint) from error

    def _unreachable(self, cause: str, hint: str) -> MailerConnectionError:
        config = self.config
        secret = config.password.get_secret_value()
        if secret:
            cause = cause.replace(secret, "******")
        return MailerConnectionError(self._owner, config.host, config.port, cause, hint)

    def _refused(
        self, subject: str, replies: dict[str, tuple[int, bytes]], outcome: str
    ) -> MailerSendError:
        refused = {address: _text(code, text) for address, (code, text) in replies.items()}
        listed = ", ".join(f"{address} ({reply})" for address, reply in refused.items())
        return MailerSendError(self._owner, subject, f"refused for {listed}; {outcome}", refused)

    def _variable(self, name: str) -> str:
        return self._runtime.config.variable_name(name, self._prefix)


def recipients(to: str | Sequence[str], owner: str, subject: str) -> tuple[str, ...]:
    """``to`` as a tuple of addresses; an empty one is an error naming ``owner``."""
    addresses = (to,) if isinstance(to, str) else tuple(to)
    if not addresses or not all(addresses):
        raise MailerSendError(owner, subject, "no recipient given (empty address)")
    return addresses


def _reply(error: smtplib.SMTPResponseException) -> str:
    return _text(error.smtp_code, error.smtp_error)


def _text(code: int, text: bytes | str) -> str:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {decoded}"


def _describe(error: OSError) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
