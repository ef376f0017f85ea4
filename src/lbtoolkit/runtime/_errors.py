"""Errors of the service runtime: start, stop and hooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lbtoolkit._exceptions import LbToolkitError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DependencyCycleError",
    "HelpShown",
    "HookNameError",
    "HookSignatureError",
    "HookTimeoutError",
    "LifecycleStateError",
    "MisnamedHook",
    "PluginConstructionError",
    "StartError",
    "StartInterruptedError",
    "StartTimeoutError",
    "StopError",
]


class StartError(LbToolkitError, RuntimeError):
    """A start step failed; what had started was stopped again (rolled back)."""

    def __init__(
        self,
        step: str,
        cause: BaseException,
        *,
        owner: str | None = None,
        hook: str | None = None,
        rollback_errors: Sequence[BaseException] = (),
    ) -> None:
        super().__init__(step, cause)
        self.step = step
        self.cause = cause
        self.owner = owner
        self.hook = hook
        self.rollback_errors = tuple(rollback_errors)

    def __str__(self) -> str:
        culprit = f"{self.owner} {self.hook}" if self.owner and self.hook else self.owner
        where = f"{self.step}: {culprit}" if culprit else self.step
        text = f"start failed at {where}: {_describe(self.cause)}"
        if self.rollback_errors:
            errors = "; ".join(_describe(e) for e in self.rollback_errors)
            text += f" (rollback also failed: {errors})"
        return text


class StartInterruptedError(LbToolkitError, RuntimeError):
    """A signal (or ``interrupt``) cut the start short; what had started was stopped again.

    ``running`` names the hooks that were cancelled, ``"<owner> <hook>"`` each.
    """

    def __init__(
        self,
        reason: str,
        step: str,
        running: Sequence[str] = (),
        *,
        rollback_errors: Sequence[BaseException] = (),
    ) -> None:
        super().__init__(reason, step, running)
        self.reason = reason
        self.step = step
        self.running = tuple(running)
        self.rollback_errors = tuple(rollback_errors)

    @property
    def location(self) -> str:
        """Where: ``plugins pre_start: plugin "db" pre_start cancelled`` (step, hooks)."""
        if not self.running:
            return self.step
        return f"{self.step}: {', '.join(self.running)} cancelled"

    def __str__(self) -> str:
        text = (
            f"start interrupted by {self.reason} at {self.location}; what had started was stopped"
        )
        if self.rollback_errors:
            errors = "; ".join(_describe(e) for e in self.rollback_errors)
            text += f" (rollback failed: {errors})"
        return text


class StopError(LbToolkitError, RuntimeError):
    """One or more stop hooks failed; every other hook still ran."""

    def __init__(self, errors: Sequence[tuple[str, BaseException]]) -> None:
        super().__init__(errors)
        self.errors = tuple(errors)

    def __str__(self) -> str:
        lines = [f"{len(self.errors)} stop hook(s) failed:"]
        lines += [f"  {who}: {_describe(error)}" for who, error in self.errors]
        return "\n".join(lines)


class HookSignatureError(LbToolkitError, TypeError):
    """A lifecycle hook cannot be called without arguments."""

    def __init__(self, owner: str, hook: str, problem: str) -> None:
        super().__init__(owner, hook, problem)
        self.owner = owner
        self.hook = hook
        self.problem = problem

    def __str__(self) -> str:
        return (
            f"{self.owner}: hook {self.hook} {self.problem}; lifecycle hooks take no "
            f"arguments. Hint: declare it as `async def {self.hook}(self) -> None`"
        )


@dataclass(frozen=True, slots=True)
class MisnamedHook:
    """A method named almost like a lifecycle hook, and the hook it should be."""

    owner: str
    cls: str
    method: str
    hook: str

    def __str__(self) -> str:
        return f"{self.owner}: {self.cls}.{self.method} -> rename it to {self.hook}"


class HookNameError(LbToolkitError, TypeError):
    """Plugins or packages have methods named almost like hooks; they would never run."""

    def __init__(self, misnamed: Sequence[MisnamedHook]) -> None:
        super().__init__(misnamed)
        self.misnamed = tuple(misnamed)

    def __str__(self) -> str:
        lines = [f"{len(self.misnamed)} method(s) look like lifecycle hooks but would never run:"]
        lines += [f"  {m}" for m in self.misnamed]
        lines.append(
            "Hint: hooks are found by their exact names: "
            "pre_start, on_start_sync, on_start, on_stop_sync, on_stop"
        )
        return "\n".join(lines)


class PluginConstructionError(LbToolkitError, RuntimeError):
    """A plugin or package constructor raised."""

    def __init__(self, owner: str, cause: BaseException) -> None:
        super().__init__(owner, cause)
        self.owner = owner
        self.cause = cause

    def __str__(self) -> str:
        return f"constructing {self.owner} failed: {_describe(self.cause)}"


class LifecycleStateError(LbToolkitError, RuntimeError):
    """A lifecycle call that the current state does not allow (start twice, ...)."""

    def __init__(self, action: str, state: str, hint: str = "") -> None:
        super().__init__(action, state)
        self.action = action
        self.state = state
        self.hint = hint

    def __str__(self) -> str:
        text = f"cannot {self.action}: the service is {self.state}"
        return f"{text}. Hint: {self.hint}" if self.hint else text


class DependencyCycleError(LbToolkitError, ValueError):
    """Plugins or packages need each other in a circle, so none of them can start first.

    ``path`` is the circle, first member repeated at the end (``("plugin \"a\"",
    "plugin \"b\"", "plugin \"a\"")``); ``reasons`` says, for each arrow, why the
    one needs the next (``depends_on`` or a constructor parameter).
    """

    def __init__(self, path: Sequence[str], reasons: Sequence[str] = ()) -> None:
        super().__init__(path, reasons)
        self.path = tuple(path)
        self.reasons = tuple(reasons)

    def __str__(self) -> str:
        lines = [f"start order has a cycle: {_ARROW.join(self.path)}"]
        lines += [
            f"  {before} needs {after}: {reason}"
            for before, after, reason in zip(self.path, self.path[1:], self.reasons, strict=False)
        ]
        lines.append(
            "Hint: nothing was started; drop one of these dependencies "
            "(a depends_on entry, or a constructor parameter)"
        )
        return "\n".join(lines)


class HookTimeoutError(LbToolkitError, TimeoutError):
    """A start hook ran past its owner's start budget and was cancelled.

    ``variable`` is the setting that sets the budget, when there is one.
    """

    def __init__(
        self, owner: str, hook: str, budget: float, elapsed: float, variable: str | None = None
    ) -> None:
        super().__init__(owner, hook, budget, elapsed)
        self.owner = owner
        self.hook = hook
        self.budget = budget
        self.elapsed = elapsed
        self.variable = variable

    def __str__(self) -> str:
        knob = f"raise {self.variable}, or " if self.variable else ""
        return (
            f"{self.owner} {self.hook} did not finish within its start budget of "
            f"{_budget(self.budget)}; cancelled after {_seconds(self.elapsed)}. "
            f"Hint: {knob}find out what the hook waits for"
        )


class StartTimeoutError(LbToolkitError, TimeoutError):
    """The whole start ran past ``{PREFIX}_START_TIMEOUT``; the hooks then running were cancelled.

    ``running`` names them, ``"<owner> <hook>"`` each.
    """

    def __init__(
        self, budget: float, elapsed: float, running: Sequence[str], variable: str
    ) -> None:
        super().__init__(budget, elapsed, running, variable)
        self.budget = budget
        self.elapsed = elapsed
        self.running = tuple(running)
        self.variable = variable

    def __str__(self) -> str:
        cut = f"; cancelled {', '.join(self.running)}" if self.running else ""
        return (
            f"the start did not finish within {self.variable}={_budget(self.budget)} "
            f"(ran {_seconds(self.elapsed)}){cut}. Hint: raise {self.variable}, or find "
            "the slow hook in the start-up timeline (LOG_LEVEL=debug)"
        )


class ShutdownTimeoutError(LbToolkitError, TimeoutError):
    """The stop ran past ``{PREFIX}_SHUTDOWN_TIMEOUT``; the hooks not yet run were abandoned.

    ``abandoned`` names them, ``"<owner> <hook>"`` each; ``drain_variable`` is
    ``{PREFIX}_DRAIN_DELAY`` when the drain delay took the budget, else empty.
    """

    def __init__(
        self, budget: float, abandoned: Sequence[str], variable: str, drain_variable: str = ""
    ) -> None:
        super().__init__(budget, abandoned, variable, drain_variable)
        self.budget = budget
        self.abandoned = tuple(abandoned)
        self.variable = variable
        self.drain_variable = drain_variable

    def __str__(self) -> str:
        cut = f"; abandoned: {', '.join(self.abandoned)}" if self.abandoned else ""
        hint = f"raise {self.variable}"
        if self.drain_variable:
            hint += f", or shorten {self.drain_variable}, which the stop waits out first"
        return (
            f"the stop did not finish within {self.variable}={_budget(self.budget)}{cut}. "
            f"Hint: {hint}"
        )


class HelpShown(SystemExit):
    """Raised by ``start()`` after the help text was printed; exits with code 0."""

    def __init__(self) -> None:
        super().__init__(0)


_ARROW = " \N{RIGHTWARDS ARROW} "


def _budget(value: float) -> str:
    """A budget as it was likely written: ``500ms``, ``30s``, ``1.5s``."""
    return f"{value * 1e3:g}ms" if value < 1 else f"{value:g}s"


def _seconds(value: float) -> str:
    return f"{value * 1e3:.0f}ms" if value < 1 else f"{value:.2f}s"


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
