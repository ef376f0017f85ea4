"""The probes server: JSON probes, metrics, readiness through the whole lifecycle."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

import lbtoolkit
from lbtoolkit.testing import open_service
from lbtoolkit.tools import ListenError, Metrics
from lbtoolkit.tools.probes import Probes, ProbesServer

PROBES = {
    "LB_PROBES_SERVER_ENABLED": "true",
    "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
    "LB_PROBES_SERVER_PORT": "0",
}


@pytest.fixture
async def server() -> AsyncIterator[ProbesServer]:
    probes_server = ProbesServer(Probes(), Metrics("test"), listen="127.0.0.1", port=0)
    await probes_server.start()
    try:
        yield probes_server
    finally:
        await probes_server.stop(1)


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


async def test_a_failing_readiness_check_leaves_liveness_true(server: ProbesServer) -> None:
    server.probes.register_check("db", "readiness", lambda: 1 / 0)
    server.probes.register_check("loop", "liveness", lambda: None)
    server.probes.started = True
    liveness = await get(server.port, "/_healthz/liveness")
    readiness = await get(server.port, "/_healthz/readiness")
    assert (liveness.status_code, liveness.json()) == (200, {"loop": "ok"})
    assert liveness.headers["content-type"] == "application/json; charset=utf-8"
    assert (readiness.status_code, readiness.json()) == (
        503,
        {"db": "ZeroDivisionError: division by zero"},
    )


async def test_a_check_that_is_not_critical_reports_without_failing_the_probe(
    server: ProbesServer,
) -> None:
    server.probes.register_check("cache", "readiness", lambda: 1 / 0, critical=False)
    server.probes.register_check("db", "readiness", lambda: None)
    server.probes.started = True
    readiness = await get(server.port, "/_healthz/readiness")
    assert (readiness.status_code, readiness.json()) == (
        200,
        {"cache": "degraded: ZeroDivisionError: division by zero", "db": "ok"},
    )
    server.probes.register_check("broker", "readiness", lambda: 1 / 0)
    assert (await get(server.port, "/_healthz/readiness")).status_code == 503


async def test_a_slow_check_times_out_without_holding_the_probe(server: ProbesServer) -> None:
    server.probes.register_check("db", "readiness", lambda: asyncio.sleep(10), timeout=0.05)
    server.probes.started = True
    response = await asyncio.wait_for(get(server.port, "/_healthz/readiness"), 2)
    assert (response.status_code, response.json()) == (503, {"db": "timed out after 0.05s"})


async def test_metrics_in_text_and_openmetrics(server: ProbesServer) -> None:
    text = await get(server.port, "/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "process_cpu_seconds_total" in text.text
    async with httpx.AsyncClient() as client:
        open_metrics = await client.get(
            f"http://127.0.0.1:{server.port}/metrics",
            headers={"accept": "application/openmetrics-text; version=1.0.0"},
        )
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.endswith("# EOF\n")


async def test_paths_come_from_the_configuration() -> None:
    app = lbtoolkit.new_service(
        "example",
        env_prefix="LB",
        environ={
            **PROBES,
            "LB_PROBES_LIVENESS_PATH": "/live",
            "LB_PROBES_READINESS_PATH": "/ready",
        },
        argv=[],
    )
    async with open_service(app):
        assert app.server.probes is not None
        port = app.server.probes.port
        assert (await get(port, "/live")).status_code == 200
        assert (await get(port, "/ready")).status_code == 200
        assert (await get(port, "/_healthz/liveness")).status_code == 404


async def test_readiness_false_before_start_true_after_false_from_stop() -> None:
    app = lbtoolkit.new_service("example", env_prefix="LB", environ=PROBES, argv=[])
    seen: dict[str, int] = {}

    async def readiness(moment: str) -> None:
        assert app.server.probes is not None
        seen[moment] = (await get(app.server.probes.port, "/_healthz/readiness")).status_code

    app.register_on_start_sync_hook(lambda: readiness("starting"))
    app.register_on_stop_sync_hook(lambda: readiness("stopping"))
    await app.start()
    await readiness("started")
    await app.stop()
    assert seen == {"starting": 503, "started": 200, "stopping": 503}


async def test_a_taken_port_is_reported_with_its_variable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        app = lbtoolkit.new_service(
            "example",
            env_prefix="LB",
            environ={**PROBES, "LB_PROBES_SERVER_PORT": str(port)},
            argv=[],
        )
        with pytest.raises(lbtoolkit.StartError) as raised:
            await app.start()
    assert isinstance(raised.value.__cause__, ListenError)
    assert str(raised.value.__cause__) == (
        f"probes server cannot listen on 127.0.0.1:{port}: address already in use\n"
        "Hint: free the port or set LB_PROBES_SERVER_PORT to another one"
    )
