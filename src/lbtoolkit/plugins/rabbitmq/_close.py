"""What the broker said when it closed a connection: its reply code and text, decoded.

RabbitMQ closes a connection it will not serve with ``Connection.Close``,
whose reply text says why (``ACCESS_REFUSED - Login was refused ...``,
``NOT_ALLOWED - vhost x not found``). aiormq keeps that text in
``ProbableAuthenticationError`` and ``ConnectionClosed``, but not when the
close answers ``Connection.Open`` (the step that names the virtual host): it
raises an ``InvalidFrameError`` holding the frame's repr only. For that case
:func:`open_refusal` goes through the handshake once more and reads the
broker's reply itself.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pamqp.frame
from aio_pika.exceptions import ConnectionClosed, InvalidFrameError, ProbableAuthenticationError
from pamqp import commands
from pamqp.exceptions import PAMQPException
from pamqp.header import ProtocolHeader

from lbtoolkit.config import mask_secrets

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pamqp.base import Frame

__all__ = ["BrokerClose", "broker_close", "open_refusal", "open_refused"]

ACCESS_REFUSED = 403  # AMQP's reply code for a refused login or permission
# type (1 byte), channel (2), payload size (4); the payload is followed by 0xCE.
_FRAME_HEAD = struct.Struct(">BHI")


@dataclass(frozen=True, slots=True)
class BrokerClose:
    """The reply of a ``Connection.Close``; ``code`` is ``None`` when aiormq kept only the text."""

    code: int | None
    text: str

    @property
    def refused_login(self) -> bool:
        return self.code == ACCESS_REFUSED or self.text.startswith("ACCESS_REFUSED - Login")

    def show(self, secrets: Iterable[str | None] = ()) -> str:
        """The broker's text (its code too, when known), ``secrets`` masked."""
        text = mask_secrets(self.text, secrets) or "no reason given"
        return text if self.code is None else f"{text} (reply code {self.code})"


def broker_close(error: BaseException) -> BrokerClose | None:
    """The broker's reply that ``error`` carries, if it is a close aiormq decoded."""
    if not isinstance(error, (ProbableAuthenticationError, ConnectionClosed)):
        return None
    # ConnectionClosed(code, text) from a close at the handshake; its subclasses
    # (one per reply code) and ProbableAuthenticationError(text) carry the text alone.
    texts = [arg for arg in error.args if isinstance(arg, str)]
    codes = [arg for arg in error.args if isinstance(arg, int) and not isinstance(arg, bool)]
    if not texts:
        return None
    if codes:
        return BrokerClose(codes[0], texts[-1])
    refused = isinstance(error, ProbableAuthenticationError)
    return BrokerClose(ACCESS_REFUSED if refused else None, texts[-1])


def open_refused(error: BaseException) -> bool:
    """Whether ``error`` is aiormq's report of a ``Connection.Close`` answering ``Open``."""
    return isinstance(error, InvalidFrameError) and "Connection.OpenOk" in str(error)


async def open_refusal(
    host: str, port: int, *, username: str, password: str, vhost: str
) -> BrokerClose | None:
    """Open a connection to ``vhost`` again, plainly, and return the broker's refusal.

    ``None`` when the broker cannot be asked (it is gone, it speaks TLS only)
    or now accepts the virtual host: the caller then says what it knows. The
    caller bounds the time it takes.
    """
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(ProtocolHeader().marshal())
        if not isinstance(await _frame(reader), commands.Connection.Start):
            return None
        response = f"\x00{username}\x00{password}"
        _send(writer, commands.Connection.StartOk(mechanism="PLAIN", response=response))
        tune = await _frame(reader)
        if isinstance(tune, commands.Connection.Close):
            return BrokerClose(tune.reply_code, tune.reply_text)
        if not isinstance(tune, commands.Connection.Tune):
            return None
        _send(writer, commands.Connection.TuneOk(tune.channel_max, tune.frame_max, 0))
        _send(writer, commands.Connection.Open(virtual_host=vhost))
        answer = await _frame(reader)
        if isinstance(answer, commands.Connection.Close):
            _send(writer, commands.Connection.CloseOk())
            await writer.drain()
            return BrokerClose(answer.reply_code, answer.reply_text)
    except (OSError, EOFError, ValueError, PAMQPException):
        return None
    finally:
        if writer is not None:
            writer.close()
    return None


async def _frame(reader: asyncio.StreamReader) -> object:
    head = await reader.readexactly(_FRAME_HEAD.size)
    _, _, size = _FRAME_HEAD.unpack(head)
    rest = await reader.readexactly(size + 1)
    _, _, frame = pamqp.frame.unmarshal(head + rest)
    return frame


def _send(writer: asyncio.StreamWriter, frame: Frame) -> None:
    writer.write(pamqp.frame.marshal(frame, 0))
