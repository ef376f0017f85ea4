"""How a plugin reaches PostgreSQL: asyncpg arguments, retries, and safe messages."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import asyncpg

from lbtoolkit.config import mask_secrets
from lbtoolkit.plugins._postgres._config import PostgresConfig
from lbtoolkit.plugins._postgres._errors import PostgresConnectError
from lbtoolkit.plugins._support import describe

__all__ = ["Connector", "mask_dsn"]

T = TypeVar("T")
_DEFAULT_PORT = 5432
_FIRST_DELAY = 0.5
_MAX_DELAY = 5.0
# What connecting can raise (asyncpg reports a malformed DSN as ValueError);
# anything else is a bug, surfaced as it is.
_DRIVER: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    ValueError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
# Worth another try: the server is not there yet, is starting, or is full.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.PostgresConnectionError,
)


class Connector:
    """Connection arguments of one plugin instance and the errors that name it.

    ``owner`` labels the plugin (``plugin "pgsql" (postgres_pg)``); ``names``
    maps a variable's short name (``HOST``) to its full name for hints.
    """

    def __init__(
        self,
        config: PostgresConfig,
        *,
        owner: str,
        application_name: str,
        names: Callable[[str], str],
        log: logging.Logger,
    ) -> None:
        self.config = config
        self.owner = owner
        self.application_name = config.application_name or application_name
        self._names = names
        self._log = log
        dsn = config.dsn.get_secret_value() if config.dsn is not None else ""
        self._dsn = dsn
        self.secrets = _secrets(config.password.get_secret_value(), dsn)

    @property
    def address(self) -> str:
        """``host:port`` this plugin connects to, from the DSN when one is set."""
        if not self._dsn:
            return f"{self.config.host}:{self.config.port}"
        hosts = urlsplit(self._dsn).netloc.rpartition("@")[2]
        if not hosts:
            return "the default host (DSN without a host)"
        return hosts if ":" in hosts.rsplit("]", 1)[-1] else f"{hosts}:{_DEFAULT_PORT}"

    @property
    def timeout(self) -> float:
        """Seconds one connection attempt, or one readiness ping, may take."""
        return self.config.conn_timeout.total_seconds()

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncpg.connect`` and ``asyncpg.create_pool``.

        A DSN replaces the connection fields; session settings (time zone,
        application name) apply in both cases unless the DSN sets them itself.
        Empty fields are left to libpq's defaults (``PGUSER``, ``.pgpass``, ...).
        """
        settings = {"application_name": self.application_name, "timezone": self.config.timezone}
        if self._dsn:
            given = {key.lower() for key, _ in parse_qsl(urlsplit(self._dsn).query)}
            kept = {key: value for key, value in settings.items() if key not in given}
            return {"dsn": self._dsn, "server_settings": kept, "timeout": self.timeout}
        config = self.config
        return {
            "host": config.host,
            "port": config.port,
            "user": config.username or None,
            "password": config.password.get_secret_value() or None,
            "database": config.database or None,
            "ssl": config.ssl_mode,
            "server_settings": settings,
            "timeout": self.timeout,
        }

    async def connect(self) -> Any:
        """Open one ``asyncpg.Connection`` (one attempt, bounded by ``CONN_TIMEOUT``)."""
        return await asyncpg.connect(**self.connect_kwargs())

    async def retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` up to ``CONN_ATTEMPTS`` times with exponential backoff.

        Only failures that may pass (refused, timed out, server starting or
        full) are retried; a wrong password fails at once. The final failure
        becomes a :class:`PostgresConnectError` naming the plugin and address.
        """
        attempts = self.config.conn_attempts
        for number in range(1, attempts + 1):
            try:
                return await attempt()
            except Exception as error:
                cause = unwrap(error)
                if not isinstance(cause, _DRIVER):
                    raise
                if number == attempts or not isinstance(cause, _TRANSIENT):
                    raise self.error(cause, attempts=number) from None
                delay = min(_FIRST_DELAY * 2 ** (number - 1), _MAX_DELAY)
                delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter spreads replicas, no secret
                self._log.warning(
                    "%s: attempt %d/%d to connect to %s failed: %s; retrying in %.1fs",
                    self.owner,
                    number,
                    attempts,
                    self.address,
                    self.describe(cause),
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def error(self, cause: BaseException, *, attempts: int = 1) -> PostgresConnectError:
        """A :class:`PostgresConnectError` for ``cause``, password masked, with a hint."""
        cause = unwrap(cause)
        return PostgresConnectError(
            self.owner,
            self.address,
            self.describe(cause),
            attempts=attempts,
            hint=self._hint(cause),
        )

    def describe(self, error: BaseException) -> str:
        """``Type: message`` with every form of the password masked."""
        return describe(error, self.secrets)

    def scrub(self, text: str) -> str:
        """``text`` with the password (plain or URL-encoded) and DSN credentials masked."""
        return mask_secrets(text, self.secrets)

    def _hint(self, cause: BaseException) -> str:
        name = self._names
        if self._dsn:
            return f"check {name('DSN')} and that PostgreSQL is running at {self.address}"
        if isinstance(cause, _TRANSIENT):
            return (
                f"check that PostgreSQL is running at {self.address}, "
                f"or point {name('HOST')} and {name('PORT')} (or {name('DSN')}) at it"
            )
        return (
            f"check {name('USERNAME')}, {name('PASSWORD')} and {name('DATABASE')} "
            f"for the server at {self.address}"
        )


def unwrap(error: BaseException) -> BaseException:
    """The driver's own error inside SQLAlchemy's wrappers, if any."""
    orig = getattr(error, "orig", None)  # sqlalchemy.exc.DBAPIError
    if isinstance(orig, BaseException):
        error = orig
    # SQLAlchemy's asyncpg adapter raises its own error "from" asyncpg's.
    if type(error).__module__.startswith("sqlalchemy") and error.__cause__ is not None:
        error = error.__cause__
    return error


def mask_dsn(dsn: str) -> str:
    """``dsn`` with its password (in the user part or the query) replaced by ``******``."""
    return mask_secrets(dsn, _secrets("", dsn))


def _secrets(password: str, dsn: str) -> tuple[str, ...]:
    found = {password} if password else set()
    if dsn:
        userinfo = urlsplit(dsn).netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.add(userinfo.partition(":")[2])
        found.update(v for k, v in parse_qsl(urlsplit(dsn).query) if k.lower() == "password")
    # Known passwords are masked before the URL patterns: one with a raw "@" would fool them.
    return tuple(found)
