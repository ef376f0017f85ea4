"""A service generated from a proto that declares ``plugin: "mailer"`` sends mail at run time."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

import grpc
import pytest

from lbtoolkit.runtime import Service, StartError
from lbtoolkit.server import RequestContext
from lbtoolkit.testing import open_service
from tests.examples.examples_support import stale_generated_files
from tests.examples.notify.gen import notify_pb2, notify_pb2_grpc
from tests.examples.notify.gen.notify_toolkit import (
    MailPlugin,
    new_notifier_service,
    register_notifier_rpc_server,
)
from tests.examples.test_mailer_smtp import open_smtp_server

NOTIFY = Path(__file__).resolve().parent / "notify"

# The service's whole environment: a test passes its own and leaves the process's alone.
SERVICE_ENVIRON = {
    "NT_NOTIFIER_GRPC_SERVER_LISTEN": "127.0.0.1",
    "NT_NOTIFIER_GRPC_SERVER_PORT": "0",
    "NT_PROBES_SERVER_LISTEN": "127.0.0.1",
    "NT_PROBES_SERVER_PORT": "0",
    "NT_MAIL_HOST": "127.0.0.1",
    "NT_MAIL_FROM": "notifier@example.com",
}


class Notifier:
    """The RPC implementation: each call sends one mail through the injected plugin."""

    def __init__(self, mail: MailPlugin) -> None:
        self.mail = mail

    async def notify(
        self, request: notify_pb2.NotifyRequest, context: RequestContext
    ) -> notify_pb2.NotifyReply:
        del context
        await self.mail.send(request.to, "Notification", f"Hello {request.to}.\n")
        return notify_pb2.NotifyReply()


def build(environ: Mapping[str, str]) -> Service:
    """The notifier: its mailer plugin comes from the proto, ``Notifier`` serves its RPCs."""
    app = new_notifier_service("notifier", env_prefix="NT", environ=environ, argv=[])
    register_notifier_rpc_server(app, Notifier)
    return app


def test_checked_in_generated_code_is_fresh(tmp_path: Path) -> None:
    # Regenerate with: lbtoolkit generate -I tests/examples/notify
    #   -o tests/examples/notify/gen tests/examples/notify/notify.proto
    stale = stale_generated_files(
        [NOTIFY / "notify.proto"], [NOTIFY], NOTIFY / "gen", tmp_path / "gen"
    )
    assert stale == []


def test_the_generated_code_imports_the_plugin_found_through_its_entry_point() -> None:
    source = (NOTIFY / "gen" / "notify_toolkit.py").read_text(encoding="utf-8")
    assert "import lbtoolkit_mailer\n" in source
    assert "class MailPlugin(lbtoolkit_mailer.Plugin, Protocol):" in source
    assert 'lbtoolkit_mailer.Options(name="mail")' in source


async def test_a_request_sends_mail_through_the_plugin() -> None:
    async with open_smtp_server() as server:
        app = build({**SERVICE_ENVIRON, "NT_MAIL_PORT": str(server.port)})
        async with open_service(app):
            assert (await app.runtime.tools.probes.run("readiness"))["mail"] == "ok"
            target = f"127.0.0.1:{app.server.grpc.port}"
            async with grpc.aio.insecure_channel(target) as channel:
                stub = notify_pb2_grpc.NotifierStub(channel)  # type: ignore[no-untyped-call]  # grpc's stubs are untyped
                await stub.Notify(notify_pb2.NotifyRequest(to="ann@example.com"))
        assert server.commands[-1] == "QUIT"
    [mail] = server.mails
    assert (mail.sender, mail.recipients) == ("notifier@example.com", ("ann@example.com",))
    assert mail.message["Subject"] == "Notification"
    assert mail.message.get_content() == "Hello ann@example.com.\n"


async def test_an_unreachable_smtp_server_stops_the_start_naming_plugin_and_hook() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = int(closed.getsockname()[1])
        app = build({**SERVICE_ENVIRON, "NT_MAIL_PORT": str(port)})
        with pytest.raises(StartError) as failed:
            await app.start()
    assert str(failed.value) == (
        'start failed at plugins pre_start: plugin "mail" pre_start: MailerConnectionError: '
        f'plugin "mail" (mailer): cannot talk to SMTP server 127.0.0.1:{port}: '
        "ConnectionRefusedError: [Errno 111] Connection refused. "
        "Hint: check NT_MAIL_HOST and NT_MAIL_PORT, and that the server is reachable from here"
    )
