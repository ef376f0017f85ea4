"""A service generated from a proto that declares ``plugin: "mailer"`` sends mail at run time."""

from __future__ import annotations

import importlib
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest

from lbtoolkit.runtime import Service, StartError
from lbtoolkit.server import RequestContext
from lbtoolkit.testing import open_service
from tests.examples.test_mailer_smtp import open_smtp_server

LBTOOLKIT = Path(sys.executable).parent / "lbtoolkit"
PROTO = """syntax = "proto3";
package notify;

import "github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/annotations.proto";

option (toolkit.plugins) = { prefix: "mail" plugin: "mailer" };

service Notifier {
  option (toolkit.runtime) = { servers: [GRPC] };
  rpc Notify(NotifyRequest) returns (NotifyReply) {}
}

message NotifyRequest { string to = 1; }
message NotifyReply {}
"""


@pytest.fixture(scope="module")
def notify(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    root = tmp_path_factory.mktemp("mailer_service")
    (root / "protos" / "notify").mkdir(parents=True)
    (root / "protos" / "notify" / "notify.proto").write_text(PROTO, encoding="utf-8")
    command = [
        str(LBTOOLKIT),
        "generate",
        "-I",
        str(root / "protos"),
        "-o",
        str(root / "notify_gen"),
    ]
    subprocess.run([*command, str(root / "protos" / "notify" / "notify.proto")], check=True)
    sys.path.insert(0, str(root))
    return importlib.import_module("notify_gen.notify.notify_toolkit")


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

    def __init__(self, mail: Any, replies: Any) -> None:
        self.mail = mail
        self.replies = replies

    async def notify(self, request: Any, context: RequestContext) -> Any:
        del context
        await self.mail.send(request.to, "Notification", f"Hello {request.to}.\n")
        return self.replies.NotifyReply()


def register(notify: ModuleType, app: Service) -> None:
    """Provide ``Notifier`` asking for the generated ``MailPlugin``, as user code would."""
    replies = importlib.import_module("notify_gen.notify.notify_pb2")

    def build(mail: Any) -> Notifier:
        return Notifier(mail, replies)

    # The generated Protocol exists only at run time: the annotation is set here.
    build.__annotations__ = {"mail": notify.MailPlugin, "return": Notifier}
    notify.register_notifier_rpc_server(app, build)


def test_the_generated_code_imports_the_plugin_found_through_its_entry_point(
    notify: ModuleType,
) -> None:
    source = Path(notify.__file__ or "").read_text(encoding="utf-8")
    assert "import lbtoolkit_mailer\n" in source
    assert "class MailPlugin(lbtoolkit_mailer.Plugin, Protocol):" in source
    assert 'lbtoolkit_mailer.Options(name="mail")' in source


async def test_a_request_sends_mail_through_the_plugin(notify: ModuleType) -> None:
    messages = importlib.import_module("notify_gen.notify.notify_pb2")
    stubs = importlib.import_module("notify_gen.notify.notify_pb2_grpc")
    async with open_smtp_server() as server:
        environ = {**SERVICE_ENVIRON, "NT_MAIL_PORT": str(server.port)}
        app = notify.new_notifier_service("notifier", env_prefix="NT", environ=environ, argv=[])
        register(notify, app)
        async with open_service(app):
            assert (await app.runtime.tools.probes.run("readiness"))["mail"] == "ok"
            target = f"127.0.0.1:{app.server.grpc.port}"
            async with grpc.aio.insecure_channel(target) as channel:
                await stubs.NotifierStub(channel).Notify(
                    messages.NotifyRequest(to="ann@example.com")
                )
        assert server.commands[-1] == "QUIT"
    [mail] = server.mails
    assert (mail.sender, mail.recipients) == ("notifier@example.com", ("ann@example.com",))
    assert mail.message["Subject"] == "Notification"
    assert mail.message.get_content() == "Hello ann@example.com.\n"


async def test_an_unreachable_smtp_server_stops_the_start_naming_plugin_and_hook(
    notify: ModuleType,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = int(closed.getsockname()[1])
        environ = {**SERVICE_ENVIRON, "NT_MAIL_PORT": str(port)}
        app = notify.new_notifier_service("notifier", env_prefix="NT", environ=environ, argv=[])
        register(notify, app)
        with pytest.raises(StartError) as failed:
            await app.start()
    assert str(failed.value) == (
        'start failed at plugins pre_start: plugin "mail" pre_start: MailerConnectionError: '
        f'plugin "mail" (mailer): cannot talk to SMTP server 127.0.0.1:{port}: '
        "ConnectionRefusedError: [Errno 111] Connection refused. "
        "Hint: check NT_MAIL_HOST and NT_MAIL_PORT, and that the server is reachable from here"
    )
