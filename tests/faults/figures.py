"""The figures each fault test measured (counts, timings), printed once at the end of the run.

A test asks for the ``figures`` fixture and records what it saw; the
conftest prints every test's figures in the terminal summary, so the run log
carries them whether or not output is captured.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Figures"]


class Figures:
    """What one test measured: ``name -> value``, kept in the order recorded."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.values: dict[str, object] = {}

    def record(self, name: str, value: object) -> None:
        self.values[name] = value

    def record_all(self, values: Mapping[str, object]) -> None:
        self.values.update(values)

    def line(self) -> str:
        shown = ", ".join(f"{name}={_show(value)}" for name, value in self.values.items())
        return f"{self.test}: {shown}"


def _show(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
