"""The mailer plugin against a real SMTP server on loopback, and its recording mock."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import lbtoolkit_mailer
from lbtoolkit.config import ConfigError
from lbtoolkit.testing import new_test_runtime, open_plugin
from lbtoolkit_mailer import (
    MailerConnectionError,
    MailerNotStartedError,
    MailerSendError,
    Options,
    Plugin,
    RecordingMailer,
    SentMail,
    new_plugin,
    new_test_plugin,
)
from tests.examples.test_mailer_smtp import SmtpServer, open_smtp_server

SENDER = "app@example.com"
PASSWORD = "s3cret-pw"  # noqa: S105 - the test server's own


def _mailer(port: int, **variables: str) -> Plugin:
    environ = {"MAILER_HOST": "127.0.0.1", "MAILER_PORT": str(port), "MAILER_FROM": SENDER}
    return new_test_plugin(environ={**environ, **{f"MAILER_{k}": v for k, v in variables.items()}})


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def test_send_hands_the_mail_to_the_server() -> None:
    async with open_smtp_server() as server, open_plugin(_mailer(server.port)) as mailer:
        await mailer.send(["ann@example.com", "bob@example.com"], "Welcome", "Hello Ann.\n")
        await mailer.send("carl@example.com", "Second", "Hello Carl.\n")
    first, second = server.mails
    assert (first.sender, first.recipients) == (SENDER, ("ann@example.com", "bob@example.com"))
    assert first.message["From"] == SENDER
    assert first.message["To"] == "ann@example.com, bob@example.com"
    assert first.message["Subject"] == "Welcome"
    assert first.message["Message-ID"].endswith("@example.com>")
    assert first.message.get_content() == "Hello Ann.\n"
    assert second.recipients == ("carl@example.com",)
    assert server.sessions == 1


async def test_pre_start_checks_the_session_and_on_stop_says_quit() -> None:
    async with open_smtp_server() as server:
        async with open_plugin(_mailer(server.port)):
            assert server.commands == ["EHLO", "NOOP"]
        assert server.commands[-1] == "QUIT"


async def test_username_and_password_log_in() -> None:
    async with (
        open_smtp_server(login=("app", PASSWORD)) as server,
        open_plugin(_mailer(server.port, USERNAME="app", PASSWORD=PASSWORD)) as mailer,
    ):
        await mailer.send("ann@example.com", "Logged in", "body")
    assert server.commands[:3] == ["EHLO", "AUTH", "NOOP"]
    assert len(server.mails) == 1


async def test_a_refused_login_fails_pre_start_without_showing_the_password() -> None:
    async with open_smtp_server(login=("app", "other")) as server:
        mailer = _mailer(server.port, USERNAME="app", PASSWORD=PASSWORD)
        with pytest.raises(MailerConnectionError) as refused:
            await open_plugin(mailer).__aenter__()
    assert str(refused.value) == (
        f'plugin "mailer" (mailer): cannot talk to SMTP server 127.0.0.1:{server.port}: '
        "login refused: 535 5.7.8 Authentication credentials invalid. "
        "Hint: check MAILER_USERNAME and MAILER_PASSWORD"
    )
    assert PASSWORD not in str(refused.value)


async def test_an_unreachable_server_names_the_address_and_variables(closed_port: int) -> None:
    with pytest.raises(MailerConnectionError) as unreachable:
        await open_plugin(_mailer(closed_port)).__aenter__()
    assert isinstance(unreachable.value, ConnectionError)
    assert str(unreachable.value) == (
        f'plugin "mailer" (mailer): cannot talk to SMTP server 127.0.0.1:{closed_port}: '
        "ConnectionRefusedError: [Errno 111] Connection refused. "
        "Hint: check MAILER_HOST and MAILER_PORT, and that the server is reachable from here"
    )


async def test_a_refused_recipient_is_reported_and_the_others_get_the_mail() -> None:
    refused = frozenset({"gone@example.com"})
    async with (
        open_smtp_server(refused=refused) as server,
        open_plugin(_mailer(server.port)) as mailer,
    ):
        with pytest.raises(MailerSendError) as partly:
            await mailer.send(["ann@example.com", "gone@example.com"], "News", "body")
    assert str(partly.value) == (
        "plugin \"mailer\" (mailer): mail 'News' not sent: refused for "
        "gone@example.com (550 5.1.1 no such user); the other recipients got it"
    )
    assert partly.value.refused == {"gone@example.com": "550 5.1.1 no such user"}
    assert [mail.recipients for mail in server.mails] == [("ann@example.com",)]


async def test_a_mail_nobody_accepts_is_an_error() -> None:
    async with (
        open_smtp_server(refused=frozenset({"gone@example.com"})) as server,
        open_plugin(_mailer(server.port)) as mailer,
    ):
        with pytest.raises(MailerSendError) as refused:
            await mailer.send("gone@example.com", "News", "body")
    assert str(refused.value) == (
        "plugin \"mailer\" (mailer): mail 'News' not sent: refused for "
        "gone@example.com (550 5.1.1 no such user); nobody got it"
    )
    assert server.mails == []


async def test_a_line_break_in_the_subject_cannot_add_headers() -> None:
    async with open_smtp_server() as server, open_plugin(_mailer(server.port)) as mailer:
        with pytest.raises(MailerSendError) as injected:
            await mailer.send("ann@example.com", "Hi\r\nBcc: eve@example.com", "body")
    assert str(injected.value) == (
        "plugin \"mailer\" (mailer): mail 'Hi\\r\\nBcc: eve@example.com' not sent: "
        "Header values may not contain linefeed or carriage return characters"
    )
    assert server.mails == []


async def test_a_session_the_server_dropped_is_reopened_for_the_next_mail() -> None:
    async with open_smtp_server() as server, open_plugin(_mailer(server.port)) as mailer:
        await server.drop_sessions()
        await mailer.send("ann@example.com", "After a pause", "body")
    assert server.sessions == 2
    assert [mail.message["Subject"] for mail in server.mails] == ["After a pause"]


async def test_readiness_follows_the_server() -> None:
    server = SmtpServer()
    await server.start()
    runtime = new_test_runtime(
        environ={"MAIL_HOST": "127.0.0.1", "MAIL_PORT": str(server.port), "MAIL_FROM": SENDER}
    )
    mailer = new_plugin(runtime, Options(name="mail"))
    probes = runtime.tools.probes
    assert [check.name for check in probes.checks("readiness")] == ["mail"]
    async with open_plugin(mailer):
        assert (await probes.run("readiness"))["mail"] == "ok"
        await server.stop()
        report = await probes.run("readiness")
    assert report["mail"] == (
        f'MailerConnectionError: plugin "mail" (mailer): cannot talk to SMTP server '
        f"127.0.0.1:{server.port}: ConnectionRefusedError: [Errno 111] Connection refused. "
        "Hint: check MAIL_HOST and MAIL_PORT, and that the server is reachable from here"
    )


async def test_send_before_start_says_what_to_do() -> None:
    with pytest.raises(MailerNotStartedError) as early:
        await _mailer(25).send("ann@example.com", "Too early", "body")
    assert str(early.value) == (
        "plugin \"mailer\" (mailer): cannot send mail 'Too early': the plugin is not started. "
        "Hint: send mail from handlers or start hooks, not from constructors"
    )


def test_info_prints_the_variables_with_the_password_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _mailer(2525, USERNAME="app", PASSWORD=PASSWORD).info()
    assert text == (
        'plugin "mailer" (mailer)\n'
        "  MAILER_HOST     = 127.0.0.1\n"
        "  MAILER_PORT     = 2525\n"
        "  MAILER_USERNAME = app\n"
        "  MAILER_PASSWORD = ******\n"
        "  MAILER_TIMEOUT  = 10s\n"
        f"  MAILER_FROM     = {SENDER}"
    )
    assert capsys.readouterr().out == text + "\n"


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as bad:
        new_test_plugin(environ={"MAILER_PORT": "0", "MAILER_TIMEOUT": "soon"})
    assert str(bad.value) == (
        "invalid configuration: 3 problems\n"
        "  MAILER_PORT: 0 is out of range (1-65535)\n"
        "  MAILER_TIMEOUT: 'soon' is not a valid duration (examples: 300ms, 5s, 1h30m)\n"
        "  MAILER_FROM: required environment variable not set\n"
        "Hint: set MAILER_FROM (run the service with --help to list every variable)"
    )


async def test_the_recording_mailer_keeps_what_it_was_asked_to_send() -> None:
    mailer: Plugin = RecordingMailer()
    await mailer.send("ann@example.com", "Welcome", "Hello")
    await mailer.health_check()
    assert isinstance(mailer, RecordingMailer)
    assert mailer.sent == [SentMail(("ann@example.com",), "Welcome", "Hello")]
    with pytest.raises(MailerSendError) as empty:
        await mailer.send([], "Nobody", "body")
    assert str(empty.value) == (
        "recording mailer: mail 'Nobody' not sent: no recipient given (empty address)"
    )


def test_the_public_names_are_sorted_and_shown_at_the_package_path() -> None:
    exported = lbtoolkit_mailer.__all__
    assert exported == sorted(exported)
    assert lbtoolkit_mailer.new_test_plugin.__module__ == "lbtoolkit_mailer"
    assert lbtoolkit_mailer.MailerPlugin.__module__ == "lbtoolkit_mailer"
