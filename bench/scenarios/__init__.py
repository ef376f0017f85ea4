"""The scenarios, in the order the suite runs them."""

from __future__ import annotations

from bench.harness.scenario import Scenario
from bench.scenarios import (
    cli,
    codegen,
    di,
    grpc_client,
    grpc_unary,
    nats_broker,
    outbox,
    peers,
    plugins,
    sse,
    startup,
    validation,
    waves,
    workers,
)

__all__ = ["SCENARIOS"]

SCENARIOS: tuple[Scenario, ...] = (
    grpc_unary.SCENARIO,
    grpc_client.SCENARIO,
    sse.SCENARIO,
    plugins.SCENARIO,
    nats_broker.SCENARIO,
    outbox.SCENARIO,
    startup.SCENARIO,
    di.SCENARIO,
    codegen.SCENARIO,
    waves.SCENARIO,
    workers.SCENARIO,
    validation.SCENARIO,
    cli.SCENARIO,
    peers.SCENARIO,
)
