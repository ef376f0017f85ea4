"""A small SMTP server on loopback for the mailer's tests, and the checks that it speaks SMTP.

It answers EHLO/HELO, AUTH PLAIN (when given a login), NOOP, MAIL, RCPT,
DATA, RSET and QUIT, records every command and every accepted mail, and
can drop its sessions the way a server closes idle ones.
"""

from __future__ import annotations

import asyncio
import base64
import smtplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

__all__ = ["ReceivedMail", "SmtpServer", "open_smtp_server"]


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One mail the server accepted: the envelope and the message."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        # Lines end in CRLF on the wire and in LF once stored, as a mail server keeps them.
        text = self.data.replace(b"\r\n", b"\n")
        return message_from_bytes(text, policy=policy.default)


@dataclass
class _Transaction:
    sender: str = ""
    recipients: list[str] = field(default_factory=list)


class SmtpServer:
    """Serves on 127.0.0.1 and a free port; ``login`` is the one accepted (user, password).

    ``refused`` are the recipient addresses answered with 550.
    """

    def __init__(
        self, *, login: tuple[str, str] | None = None, refused: frozenset[str] = frozenset()
    ) -> None:
        self.login = login
        self.refused = refused
        self.mails: list[ReceivedMail] = []
        self.commands: list[str] = []
        self.sessions = 0
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; ``port`` is the one bound."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def drop_sessions(self) -> None:
        """Close every open session, as a server does with idle ones."""
        writers, self._writers = list(self._writers), set()
        for writer in writers:
            writer.close()
        for writer in writers:
            await writer.wait_closed()

    async def stop(self) -> None:
        """Stop listening and close every session."""
        if self._server is not None:
            self._server.close()
        await self.drop_sessions()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        self._writers.add(writer)
        session = _Session(self, reader, writer)
        try:
            await session.run()
        except ConnectionError:
            pass  # the client went away mid-command
        finally:
            self._writers.discard(writer)
            writer.close()


class _Session:
    def __init__(
        self, server: SmtpServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = server.login is None
        self.transaction = _Transaction()

    async def reply(self, *lines: str) -> None:
        *first, last = lines
        text = "".join(f"{line[:3]}-{line[4:]}\r\n" for line in first) + f"{last}\r\n"
        self.writer.write(text.encode())
        await self.writer.drain()

    async def run(self) -> None:
        await self.reply("220 localhost ESMTP test server")
        while line := await self.reader.readline():
            verb, _, argument = line.decode().rstrip("\r\n").partition(" ")
            verb = verb.upper()
            self.server.commands.append(verb)
            if verb == "QUIT":
                await self.reply("221 2.0.0 bye")
                return
            await self.answer(verb, argument)

    async def answer(self, verb: str, argument: str) -> None:
        if verb == "EHLO":
            features = ["250 AUTH PLAIN"] if self.server.login else []
            await self.reply("250 localhost", *features)
        elif verb in {"HELO", "NOOP", "RSET"}:
            self.transaction = _Transaction() if verb == "RSET" else self.transaction
            await self.reply("250 2.0.0 OK")
        elif verb == "AUTH":
            await self.authenticate(argument)
        elif not self.authenticated:
            await self.reply("530 5.7.0 Authentication required")
        elif verb == "MAIL":
            self.transaction = _Transaction(sender=_address(argument))
            await self.reply("250 2.1.0 OK")
        elif verb == "RCPT":
            await self.add_recipient(_address(argument))
        elif verb == "DATA":
            await self.receive()
        else:
            await self.reply("502 5.5.2 command not implemented")

    async def authenticate(self, argument: str) -> None:
        mechanism, _, response = argument.partition(" ")
        _, user, password = base64.b64decode(response).decode().split("\0")
        if mechanism.upper() == "PLAIN" and (user, password) == self.server.login:
            self.authenticated = True
            await self.reply("235 2.7.0 Authentication successful")
        else:
            await self.reply("535 5.7.8 Authentication credentials invalid")

    async def add_recipient(self, address: str) -> None:
        if address in self.server.refused:
            await self.reply("550 5.1.1 no such user")
        else:
            self.transaction.recipients.append(address)
            await self.reply("250 2.1.5 OK")

    async def receive(self) -> None:
        if not self.transaction.recipients:
            await self.reply("554 5.5.1 no valid recipients")
            return
        await self.reply("354 end data with <CR><LF>.<CR><LF>")
        lines: list[bytes] = []
        while (line := await self.reader.readline()) != b".\r\n":
            if not line:
                raise ConnectionResetError
            lines.append(line[1:] if line.startswith(b".") else line)  # undo dot-stuffing
        transaction, self.transaction = self.transaction, _Transaction()
        mail = ReceivedMail(transaction.sender, tuple(transaction.recipients), b"".join(lines))
        self.server.mails.append(mail)
        await self.reply("250 2.0.0 queued")


def _address(argument: str) -> str:
    """``FROM:<a@b> BODY=8BITMIME`` -> ``a@b``."""
    return argument.partition("<")[2].partition(">")[0]


@asynccontextmanager
async def open_smtp_server(
    *, login: tuple[str, str] | None = None, refused: frozenset[str] = frozenset()
) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(login=login, refused=refused)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# -- the server speaks SMTP as smtplib expects -----------------------------------------------


def _send_with_smtplib(port: int, login: tuple[str, str] | None) -> dict[str, tuple[int, bytes]]:
    message = EmailMessage()
    message["From"] = "app@example.com"
    message["To"] = "ann@example.com, nobody@example.com"
    message["Subject"] = "Hello"
    message.set_content("first line\n.second line starts with a dot\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        if login:
            smtp.login(*login)
        return smtp.send_message(message)


async def test_the_server_records_a_mail_sent_by_smtplib() -> None:
    refused = frozenset({"nobody@example.com"})
    async with open_smtp_server(login=("app", "s3cret"), refused=refused) as server:
        rejected = await asyncio.to_thread(_send_with_smtplib, server.port, ("app", "s3cret"))
    assert rejected == {"nobody@example.com": (550, b"5.1.1 no such user")}
    [mail] = server.mails
    assert (mail.sender, mail.recipients) == ("app@example.com", ("ann@example.com",))
    assert mail.message["Subject"] == "Hello"
    assert mail.message.get_content() == "first line\n.second line starts with a dot\n"
    assert server.commands == ["EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]


async def test_the_server_refuses_a_wrong_login() -> None:
    async with open_smtp_server(login=("app", "s3cret")) as server:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            await asyncio.to_thread(_send_with_smtplib, server.port, ("app", "wrong"))
    assert refused.value.smtp_code == 535
    assert server.mails == []


async def test_the_server_asks_for_a_login_it_was_given() -> None:
    async with open_smtp_server(login=("app", "s3cret")) as server:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(_send_with_smtplib, server.port, None)
    assert refused.value.smtp_code == 530
