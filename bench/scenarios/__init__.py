"""The scenarios, in the order the suite runs them."""

from __future__ import annotations

from bench.harness.scenario import Scenario
from bench.scenarios import (
    cli,
    codegen,
    di,
    grpc_unary,
    http_unary,
    nats_broker,
    plugins,
    startup,
    validation,
    waves,
    workers,
)

__all__ = ["SCENARIOS"]

SCENARIOS: tuple[Scenario, ...] = (
    grpc_unary.SCENARIO,
    http_unary.SCENARIO,
    plugins.SCENARIO,
    nats_broker.SCENARIO,
    startup.SCENARIO,
    di.SCENARIO,
    codegen.SCENARIO,
    waves.SCENARIO,
    workers.SCENARIO,
    validation.SCENARIO,
    cli.SCENARIO,
)
