"""The Sentry plugin: errors logged by handlers and lifecycle hooks go to Sentry.

The runtime and the servers log every failing hook and handler with
``log.exception``; sentry-sdk's logging integration turns each ERROR record into
an event (with the traceback when there is one), so nothing has to call Sentry
by hand. The SDK is process-wide: one Sentry plugin per process.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Literal, Protocol

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import HttpTransport
from sentry_sdk.utils import BadDsn, Dsn

from lbtoolkit.config import ConfigIssue
from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.sentry._config import Config, Options
from lbtoolkit.plugins.sentry._errors import SentryConnectionError, SentryNotStartedError

if TYPE_CHECKING:
    from sentry_sdk.client import BaseClient

    from lbtoolkit.runtime import Runtime

__all__ = ["Level", "Plugin", "SentryPlugin"]

Level = Literal["fatal", "critical", "error", "warning", "info", "debug"]

_READINESS_TIMEOUT = 3.0


class _Transport(HttpTransport):
    """sentry-sdk's own transport, which also closes its idle connections when killed.

    The SDK's leaves them to the garbage collector; a stopped plugin holds none.
    """

    def kill(self) -> None:
        super().kill()
        self._pool.clear()


class Plugin(Protocol):
    """Error reporting through sentry-sdk."""

    def client(self) -> BaseClient:
        """The SDK's current client (a non-recording one while Sentry is off)."""
        ...

    def capture_exception(self, error: BaseException | None = None) -> str | None:
        """Send ``error`` (default: the one being handled); return the event id."""
        ...

    def capture_message(self, message: str, level: Level = "info") -> str | None:
        """Send a message event; return the event id."""
        ...

    async def flush(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - as sentry_sdk.flush
        """Wait until the pending events are sent (at most ``timeout`` seconds)."""
        ...

    async def health_check(self) -> None:
        """Raise unless the SDK is set up by this plugin (the readiness check)."""
        ...

    def info(self) -> str:
        """Print the plugin's variables and values (DSN masked); return the text."""
        ...

    async def pre_start(self) -> None:
        """Set up the SDK (nothing when ``DSN`` is empty)."""
        ...

    async def on_stop(self) -> None:
        """Send what is pending and close the SDK's client."""
        ...


class SentryPlugin:
    """The implementation behind :class:`Plugin`; build it with ``new_plugin``."""

    def __init__(self, runtime: Runtime, options: Options) -> None:
        self._runtime = runtime
        self._prefix = options.name
        self._owner = f'plugin "{options.name}" (sentry)'
        self._log = runtime.log.getChild(options.name)
        self.config = runtime.config.parse(Config, options.name, owner=self._owner)
        self._dsn = self._parse_dsn()
        self._client: BaseClient | None = None
        runtime.tools.probes.register_check(
            options.name, "readiness", self.health_check, timeout=_READINESS_TIMEOUT
        )

    @property
    def enabled(self) -> bool:
        """Whether a DSN is set, so errors are sent."""
        return self._dsn is not None

    # -- lifecycle -------------------------------------------------------------
    async def pre_start(self) -> None:
        """Set up the SDK; with ``CHECK_CONNECTION`` first check the DSN's host answers."""
        dsn = self._dsn
        if dsn is None:
            self._log.info("%s: no DSN set, errors are not sent", self._owner)
            return
        if self.config.check_connection:
            await self._probe(dsn)
        if sentry_sdk.get_client().is_active():
            self._log.warning("%s replaces the Sentry client already set up", self._owner)
        config = self.config

        def init() -> BaseClient:
            sentry_sdk.init(
                dsn=config.dsn.get_secret_value(),
                environment=config.environment or None,
                sample_rate=config.sample_rate,
                # Without a release the SDK asks git; the service version is a better answer.
                release=config.release or self._runtime.meta.version or None,
                shutdown_timeout=config.shutdown_timeout.total_seconds(),
                transport=_Transport,
                integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
            )
            return sentry_sdk.get_client()

        # init may start a subprocess (release detection) and a thread: off the loop.
        self._client = await asyncio.to_thread(init)
        self._log.info("%s sends errors to %s:%s", self._owner, dsn.host, dsn.port)

    async def on_stop(self) -> None:
        """Send pending events (up to ``SHUTDOWN_TIMEOUT``), then close the client."""
        client, self._client = self._client, None
        if client is None:
            return
        await asyncio.to_thread(client.close, self.config.shutdown_timeout.total_seconds())
        if sentry_sdk.get_client() is client:
            # A closed client would still count as active; the scope gets a no-op one.
            sentry_sdk.get_global_scope().set_client(None)

    # -- the plugin's API ------------------------------------------------------
    def client(self) -> BaseClient:
        """The SDK's current client (a non-recording one while Sentry is off)."""
        return sentry_sdk.get_client()

    def capture_exception(self, error: BaseException | None = None) -> str | None:
        """Send ``error`` (default: the one being handled); return the event id."""
        return sentry_sdk.capture_exception(error)

    def capture_message(self, message: str, level: Level = "info") -> str | None:
        """Send a message event; return the event id."""
        return sentry_sdk.capture_message(message, level=level)

    async def flush(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - as sentry_sdk.flush
        """Wait until the pending events are sent (at most ``timeout`` seconds)."""
        await asyncio.to_thread(sentry_sdk.flush, timeout)

    def info(self) -> str:
        """Print the plugin's variables and values (DSN masked); return the text."""
        text = self._runtime.config.describe(self._owner, self.config)
        sys.stdout.write(text + "\n")
        return text

    async def health_check(self) -> None:
        """Raise unless the SDK is set up by this plugin (and, if checked, the host answers)."""
        if self._dsn is None:
            return  # off on purpose: nothing to wait for
        if self._client is None:
            raise SentryNotStartedError(self._owner, "not started")
        if sentry_sdk.get_client() is not self._client:
            raise SentryNotStartedError(self._owner, "another Sentry client replaced this one")
        if self.config.check_connection:
            await self._probe(self._dsn)

    # -- internals -------------------------------------------------------------
    def _parse_dsn(self) -> Dsn | None:
        text = self.config.dsn.get_secret_value()
        if not text:
            return None
        try:
            return Dsn(text)
        # urllib refuses a port above 65535 with ValueError before sentry-sdk's own check.
        except (BadDsn, ValueError):
            variable = self._variable("DSN")
            self._runtime.config.add_issue(
                ConfigIssue(
                    variable,
                    "not a Sentry DSN (value hidden)",
                    self._owner,
                    f"copy {variable} from the project's Client Keys page: "
                    "https://<key>@<host>/<project id>",
                )
            )
            return None

    async def _probe(self, dsn: Dsn) -> None:
        """Open and close a TCP connection to the DSN's host."""
        timeout = self.config.connect_timeout.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(dsn.host, dsn.port)
            writer.close()
            await writer.wait_closed()
        except (OSError, TimeoutError) as error:
            cause = describe(error)
            if isinstance(error, TimeoutError):
                cause = f"no answer within {timeout:g}s (CONNECT_TIMEOUT)"
            hint = (
                f"check {self._variable('DSN')} and that Sentry is reachable from here, "
                f"or set {self._variable('CHECK_CONNECTION')}=false"
            )
            raise SentryConnectionError(self._owner, dsn.host, dsn.port, cause, hint) from error

    def _variable(self, name: str) -> str:
        return self._runtime.config.variable_name(name, self._prefix)
