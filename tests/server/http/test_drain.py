"""Graceful drain: stop refuses new connections and lets requests in flight finish."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from lbtoolkit.spec import ServiceSpec
from tests.server.http.support import client, open_server, spec_of, wait_until
from tests.server.http.users import UsersService

APP = Path(__file__).parent / "apps" / "drain_app.py"


def users(protos: SimpleNamespace) -> list[tuple[ServiceSpec, object]]:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    return [(spec, UsersService(protos.users))]


async def test_requests_in_flight_all_finish(protos: SimpleNamespace) -> None:
    count = 40
    async with open_server(users(protos)) as server:
        limits = httpx.Limits(max_connections=count)
        async with client(server, limits=limits, timeout=10) as http:
            calls = [asyncio.create_task(http.get("/v1/sleep/400")) for _ in range(count)]
            await wait_until(lambda: server.in_flight == count)
            started = time.monotonic()
            stopping = asyncio.create_task(server.stop(10))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.ConnectError):
                async with client(server) as late:
                    await late.get("/v1/users/1")
            responses = await asyncio.gather(*calls)
            await stopping
            took = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * count
    assert {r.json()["slept"] for r in responses} == {400}
    assert took < 5


async def test_requests_past_the_deadline_are_cut_and_named(
    protos: SimpleNamespace, caplog: pytest.LogCaptureFixture, http_engine: str
) -> None:
    async with open_server(users(protos)) as server, client(server, timeout=10) as http:
        call = asyncio.create_task(http.get("/v1/sleep/5000"))
        await wait_until(lambda: server.in_flight == 1)
        started = time.monotonic()
        await server.stop(0.2)
        took = time.monotonic() - started
        if http_engine == "granian":
            # granian answers the cancelled request 500, then closes (docs/http.md, Engines).
            assert (await call).status_code == 500
        else:
            with pytest.raises(httpx.HTTPError):
                await call
    assert took < 2
    cut = [r for r in caplog.records if "still running" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in cut] == [
        (
            "ERROR",
            (
                'HTTP server "test": cancelling 1 request(s) still running after the shutdown '
                "budget of 0.2s: GET /v1/sleep/{millis} (1)"
            ),
        )
    ]


async def test_a_burst_of_accepted_requests_all_finish(protos: SimpleNamespace) -> None:
    count = 500
    async with open_server(users(protos)) as server:
        registry = server._tools.metrics.registry
        labels = {"server": "test", "method": "GET", "route": "/v1/sleep/{millis}", "code": "200"}

        def accepted() -> float:
            done = registry.get_sample_value("lb_http_requests_total", labels) or 0
            return done + server.in_flight

        limits = httpx.Limits(max_connections=count)
        async with client(server, limits=limits, timeout=30) as http:
            calls = [asyncio.create_task(http.get("/v1/sleep/50")) for _ in range(count)]
            await wait_until(lambda: accepted() == count, timeout=20)
            await server.stop(10)
            responses = await asyncio.gather(*calls, return_exceptions=True)
    statuses = [r.status_code if isinstance(r, httpx.Response) else repr(r) for r in responses]
    assert statuses == [200] * count


# The server runs in a child process, on the default engine: the patched default stays here.
@pytest.mark.one_engine
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is a POSIX signal")
async def test_sigterm_drains_a_server_process(tmp_path: Path) -> None:
    environ = {"PATH": os.environ["PATH"]}
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, read from a thread
        [sys.executable, str(APP), str(tmp_path)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(await asyncio.to_thread(process.stdout.readline))
        count = 20
        limits = httpx.Limits(max_connections=count)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as http:
            calls = [asyncio.create_task(http.get("/v1/sleep/600")) for _ in range(count)]
            await asyncio.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            responses = await asyncio.gather(*calls)
        out, err = await asyncio.to_thread(process.communicate, timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert [r.status_code for r in responses] == [200] * count
    assert out.splitlines() == [f"draining {count}", "stopped"]
