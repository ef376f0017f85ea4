"""What a scenario module declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.harness.context import Context
from bench.harness.results import ScenarioResult

__all__ = ["Scenario"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """``run`` measures every variant against its baseline in the same run.

    ``services`` names the local servers it needs (``postgres``, ``redis``,
    ``rabbitmq``); ``budget`` is the wall time it is expected to take, seconds.
    """

    name: str
    title: str
    description: str
    run: Callable[[Context, ScenarioResult], None]
    services: tuple[str, ...] = ()
    budget: float = 60.0

    def new_result(self) -> ScenarioResult:
        return ScenarioResult(self.name, self.title, self.description)
