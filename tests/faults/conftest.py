"""The fault suite's only fixture: ``figures``, printed in the terminal summary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.figures import Figures

_RECORDED = pytest.StashKey[list[Figures]]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """Record what the test measured; printed at the end of the run."""
    recorded = Figures(request.node.nodeid)
    yield recorded
    if recorded.values:
        request.config.stash.setdefault(_RECORDED, []).append(recorded)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    recorded = config.stash.get(_RECORDED, [])
    if recorded:
        terminalreporter.section("fault figures")
        for each in sorted(recorded, key=lambda figures: figures.test):
            terminalreporter.write_line(each.line())
