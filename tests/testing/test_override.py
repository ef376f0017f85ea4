"""``override``: a test replaces a plugin, a package or a provided value before start."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

import pytest

import lbtoolkit
from lbtoolkit.runtime import LifecycleStateError, Runtime
from lbtoolkit.testing import NotProvidedError, open_service, override

ENVIRON = {"T_PROBES_SERVER_LISTEN": "127.0.0.1", "T_PROBES_SERVER_PORT": "0"}


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class MailPlugin(Protocol):
    """What handlers call; the generated code would declare one like it."""

    async def send(self, to: str, body: str) -> None: ...


class SmtpMailer:
    """A plugin built by generated code: its ``pre_start`` connects to the mail server."""

    def __init__(self, runtime: Runtime, port: int) -> None:
        self.port = port
        self.connected = False
        runtime.tools.probes.register_check("mail", "readiness", self.health_check)

    async def pre_start(self) -> None:
        # Nothing listens there: had this run, the start would fail with a refused connection.
        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.close()
        self.connected = True

    async def health_check(self) -> None:
        if not self.connected:
            msg = "not connected"
            raise ConnectionError(msg)

    async def send(self, to: str, body: str) -> None:
        msg = f"the real mailer was used to send {body!r} to {to}"
        raise AssertionError(msg)


class RecordingMailer:
    """The fake: records mails, and its hooks, instead of connecting."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.hooks: list[str] = []

    async def pre_start(self) -> None:
        self.hooks.append("pre_start")

    async def on_start(self) -> None:
        self.hooks.append("on_start")

    async def on_stop(self) -> None:
        self.hooks.append("on_stop")

    async def send(self, to: str, body: str) -> None:
        self.sent.append((to, body))


class Database:
    """A plugin the mailer's constructor takes, so the mailer starts in the wave after it."""

    async def pre_start(self) -> None:
        pass


class Welcomer:
    """A package (user code with hooks) that uses the mailer."""

    def __init__(self, mailer: MailPlugin) -> None:
        self.mailer = mailer

    async def welcome(self, to: str) -> None:
        await self.mailer.send(to, "welcome")


class Outbox:
    """A package whose ``pre_start`` fails: it must never run once overridden."""

    async def pre_start(self) -> None:
        msg = "the real outbox started"
        raise RuntimeError(msg)


class FakeOutbox(Outbox):
    def __init__(self) -> None:
        self.started = False

    async def pre_start(self) -> None:
        self.started = True


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now


class TimeServer:
    """Needed by the real clock's constructor and provided by nothing."""


def real_clock(server: TimeServer) -> Clock:
    return Clock(0.0)


def build(**environ: str) -> tuple[lbtoolkit.Service, SmtpMailer]:
    """A service as generated code builds it: the plugin constructed, then handed over."""
    app = lbtoolkit.new_service("mailing", env_prefix="T", environ=ENVIRON | environ, argv=[])
    mailer = SmtpMailer(app.runtime, closed_port())
    app.runtime.plugin.provide(Database)
    app.runtime.plugin.provide_value(
        mailer, provides=MailPlugin, name="mail", depends_on=[Database]
    )
    app.runtime.package.provide(Welcomer)
    return app, mailer


async def test_an_overridden_plugin_is_replaced_by_the_fake_and_never_started() -> None:
    app, real = build(T_MAIL_START_TIMEOUT="7s")
    fake = RecordingMailer()
    override(app, MailPlugin, fake)

    async with open_service(app):
        welcomer = await app.runtime.injector.get(Welcomer)
        await welcomer.welcome("ada@example.com")
        assert welcomer.mailer is fake
        (component,) = [c for c in app.plugin.components if c.instance is fake]
        hook = component.hook("pre_start")
        assert hook is not None
        # The fake runs under the original's name, budget and wave.
        assert (component.owner, hook.budget, hook.budget_variable, hook.wave) == (
            'plugin "mail"',
            7.0,
            "T_MAIL_START_TIMEOUT",
            2,
        )
        assert all(c.instance is not real for c in app.plugin.components)
        assert [c.name for c in app.tools.probes.checks("readiness")] == []

    assert fake.sent == [("ada@example.com", "welcome")]
    assert fake.hooks == ["pre_start", "on_start", "on_stop"]
    assert real.connected is False


async def test_without_the_override_the_real_plugin_connects_and_fails() -> None:
    # The counterpart of the test above: the real plugin's pre_start does connect.
    app, _ = build()

    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()

    assert caught.value.owner == 'plugin "mail"'
    assert isinstance(caught.value.cause, ConnectionRefusedError)


async def test_an_overridden_constructor_keeps_its_place_in_the_start_order() -> None:
    # The mailer's constructor takes the database, so it starts in wave 2; the
    # replacement, a value taking nothing, starts there too.
    def smtp_mailer(database: Database, runtime: Runtime) -> MailPlugin:
        return SmtpMailer(runtime, closed_port())

    app = lbtoolkit.new_service("mailing", env_prefix="T", environ=ENVIRON, argv=[])
    app.runtime.plugin.provide(Database)
    app.runtime.plugin.provide(smtp_mailer, name="mail")
    fake = RecordingMailer()
    override(app, MailPlugin, fake)

    async with open_service(app):
        waves = [[c.instance for c in wave] for wave in app.plugin.waves]

    assert len(waves) == 2
    assert waves[1] == [fake]
    assert fake.hooks == ["pre_start", "on_start", "on_stop"]


async def test_an_overridden_package_never_starts_and_the_fake_does() -> None:
    app = lbtoolkit.new_service("outboxes", env_prefix="T", environ=ENVIRON, argv=[])
    app.register_package(Outbox)
    fake = FakeOutbox()
    override(app, Outbox, fake)

    async with open_service(app):
        assert await app.runtime.injector.get(Outbox) is fake

    assert fake.started


async def test_an_overridden_value_is_injected_and_its_constructor_never_needed() -> None:
    app = lbtoolkit.new_service("clocks", env_prefix="T", environ=ENVIRON, argv=[])
    # The real clock needs a TimeServer nothing provides: without the override
    # the start fails on the dependency graph.
    app.provide(real_clock)
    fixed = Clock(42.0)
    override(app, Clock, fixed)

    async with open_service(app):
        clock = await app.runtime.injector.get(Clock)

    assert clock is fixed
    assert clock.now == 42.0


async def test_overriding_after_start_names_the_type() -> None:
    app, _ = build()
    override(app, MailPlugin, RecordingMailer())

    async with open_service(app):
        with pytest.raises(LifecycleStateError) as caught:
            override(app, MailPlugin, RecordingMailer())

    assert str(caught.value).startswith(
        f"cannot override {__name__}.MailPlugin: the service is started"
    )


def test_overriding_what_nothing_provides_lists_what_is_provided() -> None:
    app, _ = build()

    with pytest.raises(NotProvidedError) as caught:
        override(app, TimeServer, TimeServer())

    text = str(caught.value)
    assert text.startswith(
        f"cannot override {__name__}.TimeServer: nothing in this service provides it. Provided: "
    )
    for provided in (f"{__name__}.MailPlugin", f"{__name__}.Database", f"{__name__}.Welcomer"):
        assert provided in caught.value.provided
        assert provided in text


def test_a_value_of_another_class_is_refused() -> None:
    app = lbtoolkit.new_service("outboxes", env_prefix="T", environ=ENVIRON, argv=[])
    app.register_package(Outbox)

    with pytest.raises(TypeError) as caught:
        override(app, Outbox, Clock(0.0))

    assert str(caught.value) == (
        f"cannot override {__name__}.Outbox with a {__name__}.Clock, which is no subclass of it"
    )
