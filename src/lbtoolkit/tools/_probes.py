"""Health checks: plugins register them next to the connection they watch."""

from __future__ import annotations

import asyncio
import enum
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lbtoolkit._exceptions import LbToolkitError

__all__ = ["Check", "CheckKind", "Probes"]

CheckFunction = Callable[[], Awaitable[object] | object]


class CheckKind(enum.StrEnum):
    """Which probe a check counts for."""

    LIVENESS = "liveness"
    READINESS = "readiness"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    kind: CheckKind
    fn: CheckFunction
    timeout: float


class DuplicateCheckError(LbToolkitError, ValueError):
    def __init__(self, name: str, kind: CheckKind) -> None:
        super().__init__(name, kind)
        self.name = name
        self.kind = kind

    def __str__(self) -> str:
        return f"a {self.kind} check named {self.name!r} is already registered"


class Probes:
    """Liveness and readiness checks, and the lifecycle's own readiness flag."""

    def __init__(self) -> None:
        self._checks: dict[tuple[str, CheckKind], Check] = {}
        self.started = False

    def register_check(
        self,
        name: str,
        kind: CheckKind | str,
        fn: CheckFunction,
        *,
        timeout: float = 5.0,
    ) -> None:
        """Add a check; ``fn`` returns normally when healthy and raises otherwise."""
        check_kind = CheckKind(kind)
        if (name, check_kind) in self._checks:
            raise DuplicateCheckError(name, check_kind)
        self._checks[name, check_kind] = Check(name, check_kind, fn, timeout)

    def checks(self, kind: CheckKind | str) -> list[Check]:
        wanted = CheckKind(kind)
        return [c for c in self._checks.values() if c.kind == wanted]

    async def run(self, kind: CheckKind | str) -> dict[str, str]:
        """Run the checks of ``kind`` concurrently, each within its timeout.

        Returns ``{name: "ok" | error text}``; readiness also reports the
        lifecycle itself under ``"lifecycle"`` until the service has started.
        """
        checks = self.checks(kind)
        results = await asyncio.gather(*(_run_one(c) for c in checks))
        report = {c.name: r for c, r in zip(checks, results, strict=True)}
        if CheckKind(kind) is CheckKind.READINESS and not self.started:
            report["lifecycle"] = "not started"
        return report


async def _run_one(check: Check) -> str:
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
