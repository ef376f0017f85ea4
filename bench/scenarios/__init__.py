"""The scenarios, in the order the suite runs them."""

from __future__ import annotations

from bench.harness.scenario import Scenario
from bench.scenarios import codegen, di, grpc_unary, http_unary, plugins, startup

__all__ = ["SCENARIOS"]

SCENARIOS: tuple[Scenario, ...] = (
    grpc_unary.SCENARIO,
    http_unary.SCENARIO,
    plugins.SCENARIO,
    startup.SCENARIO,
    di.SCENARIO,
    codegen.SCENARIO,
)
