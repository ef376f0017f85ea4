"""Outages: which failures mean "a plugin's server is unreachable", and one log line per outage.

Plugins register the exceptions their client library raises when its server
cannot be reached (refused, reset, timed out, pool exhausted) under their
name; the transports ask :meth:`Outages.report` about an exception an
implementation let through. When it is a plugin's outage, the call answers
``UNAVAILABLE`` (HTTP 503 with ``Retry-After``) instead of ``INTERNAL`` with
a traceback, and the log gets:

- one WARNING when the outage begins (the first failed call);
- at most one WARNING per ``SUMMARY_INTERVAL`` with the count of calls failed since;
- one INFO when the plugin's readiness check passes again, with the
  outage's duration and the count of failed calls.

Nothing here runs on the success path: the transports only ask on an error.

How an exception is attributed (walking ``__cause__`` and ``__context__``):
an exception of a library's own type (``redis.exceptions.ConnectionError``)
belongs to the plugins that registered it; a builtin one (``ConnectionError``,
``TimeoutError``, ``OSError``), which any code may raise, belongs to a plugin
only when it went through one of the plugin's objects (its client, pool or
engine: a method of that object is on the traceback). When several plugins
claim an exception, the one whose object is on the traceback wins, then the
first registered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["SUMMARY_INTERVAL", "Outages", "PluginOutage"]

log = logging.getLogger("lbtoolkit.outages")


SUMMARY_INTERVAL = 10.0
"""At most one "still unavailable" line per plugin in this many seconds."""

# How far down a chain of causes to look; chains are short, cycles are possible.
_MAX_CHAIN = 16

ErrorTypes = tuple[type[BaseException], ...]


def _default_describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class PluginOutage:
    """One plugin's registration, and the state of its current outage (if any).

    ``matches`` accepts exceptions beyond ``errors`` (SQLAlchemy's
    ``DBAPIError`` only when ``connection_invalidated``); ``owners`` returns
    the objects through which the plugin's builtin errors are raised;
    ``describe`` renders an error for the log, secrets masked.
    """

    __slots__ = (
        "_clock",
        "_describe",
        "_failed",
        "_logged_at",
        "_matches",
        "_owners",
        "_since",
        "_unlogged",
        "errors",
        "kind",
        "plugin",
    )

    def __init__(
        self,
        plugin: str,
        kind: str,
        errors: ErrorTypes,
        *,
        matches: Callable[[BaseException], bool] | None = None,
        owners: Callable[[], Iterable[object]] = tuple,
        describe: Callable[[BaseException], str] = _default_describe,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.plugin = plugin
        self.kind = kind
        self.errors = errors
        self._matches = matches
        self._owners = owners
        self._describe = describe
        self._clock = clock
        self._since: float | None = None
        self._failed = 0
        self._unlogged = 0
        self._logged_at = 0.0

    def __repr__(self) -> str:
        return f"<PluginOutage {self.label}>"

    @property
    def label(self) -> str:
        """``plugin "cache" (redis)``, as every message names a plugin."""
        return f'plugin "{self.plugin}" ({self.kind})'

    @property
    def message(self) -> str:
        """What the client reads: the plugin, never the library's text."""
        return f"{self.label} is unavailable"

    @property
    def down(self) -> bool:
        """Whether an outage is under way (a call failed and no check has passed since)."""
        return self._since is not None

    @property
    def failed_calls(self) -> int:
        """Calls failed in the current outage."""
        return self._failed

    def claims(self, error: BaseException) -> bool:
        """Whether ``error`` is one of the registered errors (owners not considered)."""
        return isinstance(error, self.errors) or (
            self._matches is not None and self._matches(error)
        )

    def owns(self, selves: set[int]) -> bool:
        """Whether one of the plugin's objects is in ``selves`` (ids of ``self`` on tracebacks)."""
        return any(id(owner) in selves for owner in self._owners())

    def failed(self, error: BaseException, where: str) -> None:
        """Count a call failed by the outage; log its start, or a summary now and then."""
        now = self._clock()
        if self._since is None:
            self._since = self._logged_at = now
            self._failed, self._unlogged = 1, 0
            log.warning(
                "%s is unavailable: %s (first failed call: %s); calls that need it answer "
                "UNAVAILABLE (HTTP 503) until its readiness check passes again",
                self.label,
                self._describe(error),
                where,
            )
            return
        self._failed += 1
        self._unlogged += 1
        if now - self._logged_at >= SUMMARY_INTERVAL:
            log.warning(
                "%s is still unavailable after %.1fs: %d more failed calls in the last %.1fs",
                self.label,
                now - self._since,
                self._unlogged,
                now - self._logged_at,
            )
            self._logged_at, self._unlogged = now, 0

    def available(self) -> None:
        """The plugin's server answers again (its readiness check passed): end the outage."""
        since = self._since
        if since is None:
            return
        self._since = None
        log.info(
            "%s is available again after %.1fs; %d calls failed during the outage",
            self.label,
            self._clock() - since,
            self._failed,
        )


class Outages:
    """``runtime.tools.outages``: the plugins' registrations, asked by the transports on errors.

    ``clock`` (seconds, monotonic) times the outages.
    """

    retry_after_seconds: ClassVar[int] = 5
    """What an outage answer tells the client to wait before trying again (``Retry-After``)."""

    def __init__(self, clock: Callable[[], float] = monotonic) -> None:
        self._plugins: list[PluginOutage] = []
        self._clock = clock

    def register(
        self,
        plugin: str,
        kind: str,
        errors: ErrorTypes,
        *,
        matches: Callable[[BaseException], bool] | None = None,
        owners: Callable[[], Iterable[object]] = tuple,
        describe: Callable[[BaseException], str] = _default_describe,
    ) -> PluginOutage:
        """Declare which exceptions mean ``plugin``'s server is unreachable.

        The plugin calls ``available()`` on the returned record when its
        readiness check passes, which ends an outage.
        """
        outage = PluginOutage(
            plugin,
            kind,
            errors,
            matches=matches,
            owners=owners,
            describe=describe,
            clock=self._clock,
        )
        self._plugins.append(outage)
        return outage

    def registered(self) -> tuple[PluginOutage, ...]:
        """Every registration, in registration order."""
        return tuple(self._plugins)

    def classify(self, error: BaseException) -> PluginOutage | None:
        """The plugin whose outage ``error`` (or one of its causes) is, or ``None``."""
        if not self._plugins:
            return None
        chain = _chain(error)
        claims = [
            (outage, found)
            for outage in self._plugins
            if (found := next((e for e in chain if outage.claims(e)), None)) is not None
        ]
        if not claims:
            return None
        if len(claims) == 1 and not _builtin(claims[0][1]):
            return claims[0][0]
        selves = _selves(chain)
        for outage, _ in claims:
            if outage.owns(selves):
                return outage
        return next((outage for outage, found in claims if not _builtin(found)), None)

    def report(self, error: BaseException, where: str) -> PluginOutage | None:
        """Classify ``error`` raised while serving ``where``; count and log it if an outage."""
        outage = self.classify(error)
        if outage is not None:
            outage.failed(_claimed(outage, error), where)
        return outage


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and its causes (``__cause__``, else ``__context__``), each once."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < _MAX_CHAIN and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _claimed(outage: PluginOutage, error: BaseException) -> BaseException:
    """The exception of the chain ``outage`` claims: the one worth logging."""
    return next((e for e in _chain(error) if outage.claims(e)), error)


def _builtin(error: BaseException) -> bool:
    return type(error).__module__ == "builtins"


def _selves(chain: list[BaseException]) -> set[int]:
    """The ids of the objects whose methods are on the tracebacks of ``chain``."""
    selves: set[int] = set()
    for error in chain:
        tb: TracebackType | None = error.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            # Only frames of methods: reading f_locals builds a dict, skip the rest.
            if code.co_argcount and code.co_varnames[0] == "self":
                owner = tb.tb_frame.f_locals.get("self")
                if owner is not None:
                    selves.add(id(owner))
            tb = tb.tb_next
    return selves
