"""Errors and collected problems of the configuration system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from lbtoolkit._exceptions import LbToolkitError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from lbtoolkit.config._unread import UnreadVariable

__all__ = [
    "REQUIRED_NOT_SET",
    "ConfigError",
    "ConfigIssue",
    "ConfigModelError",
    "UnreadVariablesError",
]

REQUIRED_NOT_SET = "required environment variable not set"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem with one environment variable.

    ``variable`` is the full variable name (service and plugin prefix
    included), ``owner`` says who parsed it, ``hint`` optionally says how to
    fix it.
    """

    variable: str
    message: str
    owner: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


class ConfigError(LbToolkitError, ValueError):
    """Every configuration problem found, raised together.

    A start with three bad variables reports all three at once, so a deploy
    needs one round of fixes, not three.
    """

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        super().__init__(tuple(issues))
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)

    def __str__(self) -> str:
        count = len(self.issues)
        noun = "problem" if count == 1 else "problems"
        lines = [f"invalid configuration: {count} {noun}"]
        lines.extend(f"  {issue}" for issue in self.issues)
        missing = [i.variable for i in self.issues if i.message == REQUIRED_NOT_SET]
        if missing:
            lines.append(
                f"Hint: set {_join(missing)} (run the service with --help to list every variable)"
            )
        hints = dict.fromkeys(i.hint for i in self.issues if i.hint)
        lines.extend(f"Hint: {hint}" for hint in hints)
        return "\n".join(lines)


class UnreadVariablesError(ConfigError):
    """Variables under the service prefix that nothing reads, in strict mode.

    ``switch`` is the variable that turned the warnings into this error
    (``MYSERVICE_STRICT_ENV``); ``others`` are the configuration problems found
    at the same time, listed below so that one round of fixes is enough. The
    text names variables only, never their values.
    """

    def __init__(
        self,
        variables: Sequence[UnreadVariable],
        switch: str,
        others: Sequence[ConfigIssue] = (),
    ) -> None:
        unread = [
            ConfigIssue(v.name, "not read by anything", "environment", _suggestion(v.suggestion))
            for v in variables
        ]
        super().__init__([*unread, *others])
        self.variables: tuple[UnreadVariable, ...] = tuple(variables)
        self.switch = switch
        self.others: tuple[ConfigIssue, ...] = tuple(others)

    def __str__(self) -> str:
        count = len(self.variables)
        noun, them = ("variable is", "it") if count == 1 else ("variables are", "them")
        lines = [f"{count} environment {noun} not read by anything ({self.switch} is true)"]
        lines.extend(f"  {variable}" for variable in self.variables)
        lines.append(
            f"Hint: correct or remove {them}, or set {self.switch}=false to only warn at start"
        )
        if self.others:
            lines.append(str(ConfigError(self.others)))
        return "\n".join(lines)


class ConfigModelError(LbToolkitError, TypeError):
    """A config model cannot be used: not a pydantic model, or badly declared.

    Raised at once (not collected): it is a mistake in code, not in the
    environment, and no deployment can fix it.
    """

    def __init__(self, got: object, problem: str = "") -> None:
        super().__init__(got, problem)
        self.got = got
        self.problem = problem

    def __str__(self) -> str:
        if self.problem:
            return f"config model {_describe(self.got)}: {self.problem}"
        text = f"config models must be pydantic BaseModel subclasses, got {_describe(self.got)}"
        if isinstance(self.got, BaseModel):
            name = type(self.got).__qualname__
            text += f"\nHint: pass the class {name} itself, not an instance of it"
        return text


def _describe(got: object) -> str:
    if isinstance(got, type):
        return f"class {got.__qualname__}"
    return f"an instance of {type(got).__qualname__}"


def _suggestion(name: str) -> str:
    return f"did you mean {name}?" if name else ""


def _join(names: Iterable[str]) -> str:
    items = list(names)
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} and {items[-1]}"
