"""A mail sink for trying the notifier: an SMTP server on loopback that prints each mail.

Not a mail server: it accepts every mail and delivers none. ``scripts/demo.py``
runs it unless ``NOTIFIER_MAIL_HOST`` points at a real server;
``python -m notifier_service.mail_sink [PORT]`` runs it alone.
"""

from __future__ import annotations

import socketserver
import sys
from collections.abc import Callable
from email import message_from_bytes, policy

__all__ = ["MailSink"]

Printer = Callable[[str], None]


class _Session(socketserver.StreamRequestHandler):
    server: MailSink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 mail sink ready")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self.reply("250 mail sink")
            elif verb == "RCPT":
                recipients.append(line.decode(errors="replace").split(":", 1)[-1].strip(" <>\r\n"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                self.server.deliver(recipients, self._read_data())
                recipients = []
                self.reply("250 ok: printed, not delivered")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RSET, NOOP
                self.reply("250 ok")

    def _read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in {b".\r\n", b".\n", b""}:
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class MailSink(socketserver.ThreadingTCPServer):
    """Serves SMTP on ``127.0.0.1:port`` (0: any free port) and prints each mail received."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, printer: Printer = print) -> None:
        super().__init__(("127.0.0.1", port), _Session)
        self._printer = printer

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def deliver(self, recipients: list[str], data: bytes) -> None:
        message = message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)
        self._printer(f"mail to {', '.join(recipients)}: {message['Subject']}")


if __name__ == "__main__":
    sink = MailSink(int(sys.argv[1]) if len(sys.argv) > 1 else 2525)
    print(f"mail sink on 127.0.0.1:{sink.port}", flush=True)
    try:
        sink.serve_forever()
    except KeyboardInterrupt:
        sink.server_close()
