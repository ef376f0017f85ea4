"""RED metrics in the service's registry and a server span per request."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lbtoolkit._di import Injector
from lbtoolkit.server.http import HttpServer
from lbtoolkit.server.http._observe import Tracing
from tests.server.http.support import client, open_server, spec_of, wait_until
from tests.server.http.users import UsersService


def users(protos: SimpleNamespace) -> list[tuple[Any, object]]:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    return [(spec, UsersService(protos.users))]


async def test_requests_latency_and_in_flight_are_recorded(protos: SimpleNamespace) -> None:
    async with open_server(users(protos)) as server, client(server) as http:
        registry = server._tools.metrics.registry
        for url in ["/v1/users/1", "/v1/users/2", "/v1/users/x", "/nowhere"]:
            await http.get(url)
        slow = asyncio.create_task(http.get("/v1/sleep/200"))
        await wait_until(lambda: server.in_flight == 1)
        in_flight = registry.get_sample_value("lb_http_requests_in_flight", {"server": "test"})
        await slow

    def requests(route: str, code: str, method: str = "GET") -> float | None:
        labels = {"server": "test", "method": method, "route": route, "code": code}
        return registry.get_sample_value("lb_http_requests_total", labels)

    assert requests("/v1/users/{id}", "200") == 2
    assert requests("/v1/users/{id}", "400") == 1
    assert requests("", "404", method="") == 1
    assert requests("/v1/sleep/{millis}", "200") == 1
    labels = {"server": "test", "method": "GET", "route": "/v1/users/{id}"}
    assert registry.get_sample_value("lb_http_request_duration_seconds_count", labels) == 3
    assert in_flight == 1
    assert registry.get_sample_value("lb_http_requests_in_flight", {"server": "test"}) == 0


async def test_servers_of_one_service_share_the_metric_families() -> None:
    from lbtoolkit.config import ConfigController  # noqa: PLC0415 - only this test builds by hand
    from lbtoolkit.tools import Tools  # noqa: PLC0415

    tools = Tools("svc", "lb")
    config = ConfigController("LB", environ={})
    for name in ("public", "admin"):
        injector = Injector()
        server = HttpServer(name, runtime_config=config, tools=tools, injector=injector)
        await server.prepare(injector.build())
    labels = {"server": "admin"}
    assert tools.metrics.registry.get_sample_value("lb_http_requests_in_flight", labels) == 0


async def test_a_span_per_request_under_the_incoming_parent(
    protos: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The global provider stays untouched: the server gets this one through its tools.
    monkeypatch.setattr(Tracing, "active", lambda _self: True)

    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        monkeypatch.setattr(server._tools.traces, "tracer", provider.get_tracer)

    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent_id = "00f067aa0ba902b7"
    traceparent = f"00-{trace_id}-{parent_id}-01"
    async with open_server(users(protos), setup=setup) as server, client(server) as http:
        await http.get("/v1/users/1", headers={"traceparent": traceparent})
        await http.post("/v1/fail", json={"code": "CRASH"})
    ok, failed = exporter.get_finished_spans()
    assert ok.name == "GET /v1/users/{id}"
    assert ok.kind is SpanKind.SERVER
    assert ok.parent is not None
    assert (f"{ok.context.trace_id:032x}", f"{ok.parent.span_id:016x}") == (trace_id, parent_id)
    assert ok.attributes is not None
    assert ok.attributes["http.route"] == "/v1/users/{id}"
    assert ok.attributes["http.response.status_code"] == 200
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.name == "POST /v1/fail"
    assert failed.parent is None
    assert failed.status.status_code is StatusCode.ERROR


def test_spans_are_started_only_with_an_sdk() -> None:
    from opentelemetry import trace  # noqa: PLC0415 - only this test needs them

    # The API's default provider is a proxy until an SDK is installed.
    without_sdk = isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert Tracing(trace.get_tracer("test")).active() is not without_sdk
    assert Tracing(TracerProvider().get_tracer("test")).active()
    assert not Tracing(trace.NoOpTracer()).active()
