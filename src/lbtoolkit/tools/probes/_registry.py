"""Health checks: plugins register them next to the connection they watch."""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lbtoolkit._exceptions import LbToolkitError

__all__ = [
    "DEGRADED",
    "Check",
    "CheckKind",
    "DuplicateCheckError",
    "Probes",
    "ReadinessListener",
    "healthy",
]

log = logging.getLogger("lbtoolkit.probes")

CheckFunction = Callable[[], Awaitable[object] | object]
Withdrawal = Callable[[], Awaitable[object]]
# What a failing check that is not critical reports: shown, but the probe stays healthy.
DEGRADED = "degraded: "


def healthy(result: str) -> bool:
    """Whether one check's result keeps its probe healthy (``"ok"`` or degraded)."""
    return result == "ok" or result.startswith(DEGRADED)


ReadinessListener = Callable[[bool], None]


class CheckKind(enum.StrEnum):
    """Which probe a check counts for."""

    LIVENESS = "liveness"
    READINESS = "readiness"


@dataclass(frozen=True, slots=True)
class Check:
    """A named check of one kind; ``fn`` raises (or times out) when unhealthy.

    A check that is not ``critical`` reports its failure as ``degraded: ...``
    without failing the probe: a cache the service can do without.
    """

    name: str
    kind: CheckKind
    fn: CheckFunction
    timeout: float
    critical: bool = True


class DuplicateCheckError(LbToolkitError, ValueError):
    """A check of the same name and kind is already registered."""

    def __init__(self, name: str, kind: CheckKind) -> None:
        super().__init__(name, kind)
        self.name = name
        self.kind = kind

    def __str__(self) -> str:
        return (
            f"a {self.kind} check named {self.name!r} is already registered\n"
            "Hint: give each check a name of its own (a plugin uses its prefix)"
        )


class Probes:
    """Liveness and readiness checks, and the lifecycle's own readiness flag.

    ``started`` is set by the lifecycle once the whole start sequence has run
    and cleared as the first step of stop; transports subscribe with
    :meth:`add_readiness_listener` (the gRPC health service follows it).
    """

    def __init__(self) -> None:
        self._checks: dict[tuple[str, CheckKind], Check] = {}
        self._started = False
        self._listeners: list[ReadinessListener] = []
        self._withdrawals: list[Withdrawal] = []

    @property
    def started(self) -> bool:
        """Whether the service has fully started and is not stopping."""
        return self._started

    @started.setter
    def started(self, value: bool) -> None:
        changed = value != self._started
        self._started = value
        if changed:
            for listener in tuple(self._listeners):
                try:
                    listener(value)
                except Exception:
                    # One broken listener must not keep the others (or the lifecycle) waiting.
                    log.exception("readiness listener %r failed", listener)

    def add_readiness_listener(self, listener: ReadinessListener) -> None:
        """Call ``listener(started)`` whenever the lifecycle flips readiness."""
        self._listeners.append(listener)

    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        """Await ``withdrawal()`` at stop, once readiness is false and before servers drain.

        The place to leave a service registry: clients move away while calls
        are still answered. It runs within the shutdown timeout.
        """
        self._withdrawals.append(withdrawal)

    async def withdraw(self) -> None:
        """Run every withdrawal concurrently; a failing one is logged, the stop goes on."""
        withdrawals, self._withdrawals = self._withdrawals, []
        results = await asyncio.gather(*(w() for w in withdrawals), return_exceptions=True)
        for withdrawal, result in zip(withdrawals, results, strict=True):
            if isinstance(result, Exception):
                log.error("withdrawal %r failed", withdrawal, exc_info=result)
            elif isinstance(result, BaseException):
                raise result

    def register_check(
        self,
        name: str,
        kind: CheckKind | str,
        fn: CheckFunction,
        *,
        timeout: float = 5.0,
        critical: bool = True,
    ) -> None:
        """Add a check; ``fn`` returns normally when healthy and raises otherwise.

        ``kind`` is ``"readiness"`` for connectivity (a lost database takes the
        pod out of rotation) and ``"liveness"`` only for states a restart cures.
        ``critical=False`` reports a failure without failing the probe.
        """
        check_kind = CheckKind(kind)
        if (name, check_kind) in self._checks:
            raise DuplicateCheckError(name, check_kind)
        self._checks[name, check_kind] = Check(name, check_kind, fn, timeout, critical)

    def checks(self, kind: CheckKind | str) -> list[Check]:
        """The registered checks of ``kind``, in registration order."""
        wanted = CheckKind(kind)
        return [c for c in self._checks.values() if c.kind == wanted]

    def remove_check(self, name: str, kind: CheckKind | str) -> None:
        """Withdraw a check (a plugin replaced before start); unknown ones are ignored."""
        self._checks.pop((name, CheckKind(kind)), None)

    async def run(self, kind: CheckKind | str) -> dict[str, str]:
        """Run the checks of ``kind`` concurrently, each within its timeout.

        Returns ``{name: "ok" | error text}`` (``"degraded: ..."`` for a check
        that is not critical, see :func:`healthy`); readiness also reports the
        lifecycle itself under ``"lifecycle"`` until the service has started.
        """
        checks = self.checks(kind)
        results = await asyncio.gather(*(_run_one(c) for c in checks))
        report = {c.name: r for c, r in zip(checks, results, strict=True)}
        if CheckKind(kind) is CheckKind.READINESS and not self._started:
            report["lifecycle"] = "not started"
        return report


async def _run_one(check: Check) -> str:
    result = await _outcome(check)
    return result if check.critical or result == "ok" else DEGRADED + result


async def _outcome(check: Check) -> str:
    async def call() -> None:
        result = check.fn()
        if inspect.isawaitable(result):
            await result

    try:
        await asyncio.wait_for(call(), check.timeout)
    except TimeoutError:
        return f"timed out after {check.timeout:g}s"
    except Exception as error:  # noqa: BLE001 - a failing check is a report, not a crash
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return "ok"
