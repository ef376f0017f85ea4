"""RED metrics of gRPC calls and lifecycle metrics, scraped from /metrics."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import lbtoolkit
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, channel

SAY_HELLO = "/lbtest.greeter.Greeter/SayHello"


async def scrape(app: lbtoolkit.Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert app.server.probes is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{app.server.probes.port}/metrics")
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def labels(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


async def test_requests_are_counted_by_method_and_code_and_timed(greeter: GreeterKit) -> None:
    app = greeter.new_app()
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        for name in ("a", "b"):
            await stub.SayHello(greeter.pb2.HelloRequest(name=name))
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Fail(greeter.pb2.FailRequest(kind="NotFound"))
        metrics = await scrape(app)
    hello = labels(server="example", method=SAY_HELLO, code="OK")
    assert metrics["example_grpc_requests_total", hello] == 2
    not_found = labels(server="example", method="/lbtest.greeter.Greeter/Fail", code="NOT_FOUND")
    assert metrics["example_grpc_requests_total", not_found] == 1
    timed = labels(server="example", method=SAY_HELLO)
    assert metrics["example_grpc_request_duration_seconds_count", timed] == 2
    assert (
        metrics[
            "example_grpc_request_duration_seconds_bucket",
            labels(server="example", method=SAY_HELLO, le="+Inf"),
        ]
        == 2
    )
    assert metrics["example_grpc_requests_in_flight", timed] == 0


async def test_in_flight_gauge_counts_running_calls(greeter: GreeterKit) -> None:
    app = greeter.new_app()
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        calls = [
            asyncio.ensure_future(stub.SayHello(greeter.pb2.HelloRequest(name="x", delay_ms=1000)))
            for _ in range(3)
        ]
        in_flight = ("example_grpc_requests_in_flight", labels(server="example", method=SAY_HELLO))
        # Bounded: the three calls are running once the gauge shows them, or never.
        deadline = asyncio.get_running_loop().time() + 10
        seen = (await scrape(app)).get(in_flight)
        while seen != 3 and asyncio.get_running_loop().time() < deadline:
            seen = (await scrape(app)).get(in_flight)
        await asyncio.gather(*calls)
    assert seen == 3


async def test_lifecycle_hook_durations_and_state_are_exposed(greeter: GreeterKit) -> None:
    app = greeter.new_app()

    async def warm_up() -> None:
        await asyncio.sleep(0.02)

    app.register_on_start_sync_hook(warm_up)
    async with open_service(app):
        metrics = await scrape(app)
    owner = (
        f"user hook {__name__}.test_lifecycle_hook_durations_and_state_are_exposed.<locals>.warm_up"
    )
    duration = metrics[
        "lbtoolkit_lifecycle_hook_duration_seconds", labels(owner=owner, hook="on_start_sync")
    ]
    assert 0.02 <= duration < 1
    assert metrics["lbtoolkit_lifecycle_state", labels(state="started")] == 1
    assert metrics["lbtoolkit_lifecycle_state", labels(state="starting")] == 0
    assert metrics["lbtoolkit_service_info", labels(service="example", version="")] == 1
