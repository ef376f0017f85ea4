"""SIGTERM with calls in flight: every accepted call completes, none is cancelled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import grpc
import httpx
from prometheus_client.parser import text_string_to_metric_families

from lbtoolkit.server.grpc._drain import REFUSAL
from tests.server.grpc.support import GreeterKit

APP = Path(__file__).parent / "apps" / "greeter_service.py"
ROOT = Path(__file__).parents[3]
CALLS = 50
BURST = 500


def start_service(greeter: GreeterKit, port_file: Path, **settings: str) -> subprocess.Popen[str]:
    environ = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "GREETER_OUT": str(greeter.out),
        "PORT_FILE": str(port_file),
        "LB_EXAMPLE_GRPC_SERVER_LISTEN": "127.0.0.1",
        "LB_EXAMPLE_GRPC_SERVER_PORT": "0",
        "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
        "LB_PROBES_SERVER_PORT": "0",
        "LB_SHUTDOWN_TIMEOUT": "20s",
        **settings,
    }
    return subprocess.Popen(
        [sys.executable, str(APP)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_ports(process: subprocess.Popen[str], port_file: Path) -> tuple[int, int]:
    deadline = time.monotonic() + 20
    while not port_file.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    grpc_port, probes_port = port_file.read_text().split()
    return int(grpc_port), int(probes_port)


async def in_flight(client: httpx.AsyncClient, probes_port: int) -> float:
    text = (await client.get(f"http://127.0.0.1:{probes_port}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "example_grpc_requests_in_flight"
        for sample in family.samples
    )


async def test_sigterm_drains_every_call_in_flight_then_exits_0(
    greeter: GreeterKit, tmp_path: Path
) -> None:
    port_file = tmp_path / "ports"
    process = start_service(greeter, port_file)
    try:
        grpc_port, probes_port = await asyncio.to_thread(wait_for_ports, process, port_file)
        readiness = f"http://127.0.0.1:{probes_port}/_healthz/readiness"
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as ch,
            httpx.AsyncClient() as client,
        ):
            assert (await client.get(readiness)).status_code == 200
            stub = greeter.stub(ch)
            calls = [
                asyncio.ensure_future(
                    stub.SayHello(greeter.pb2.HelloRequest(name=str(i), delay_ms=1500))
                )
                for i in range(CALLS)
            ]
            while await in_flight(client, probes_port) < CALLS:  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            while (not_ready := await client.get(readiness)).status_code == 200:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            assert not any(call.done() for call in calls)  # readiness fell while draining
            replies = await asyncio.gather(*calls)
        assert not_ready.status_code == 503
        assert not_ready.json() == {"lifecycle": "not started"}
        assert sorted(r.message for r in replies) == sorted(f"Hello, {i}!" for i in range(CALLS))
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


# A call the client sent after the server had closed its listener and its
# idle connection: it never reached the server.
NOT_CONNECTED = "not connected: connection refused"


def outcome(result: object) -> str:
    if isinstance(result, grpc.aio.AioRpcError):
        details = result.details() or ""
        if result.code() == grpc.StatusCode.UNAVAILABLE and "Connection refused" in details:
            return NOT_CONNECTED
        return f"{result.code().name}: {details}"
    return "OK"


async def sigterm_during_a_burst(
    greeter: GreeterKit, tmp_path: Path, **settings: str
) -> tuple[Counter[str], str, int]:
    """Send BURST calls of 50 ms, SIGTERM at once; how they ended, the log, the exit code."""
    port_file = tmp_path / "ports"
    process = start_service(greeter, port_file, **settings)
    try:
        grpc_port, _ = await asyncio.to_thread(wait_for_ports, process, port_file)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as ch:
            stub = greeter.stub(ch)
            await stub.SayHello(greeter.pb2.HelloRequest(name="connected"))
            calls = [
                asyncio.ensure_future(
                    stub.SayHello(greeter.pb2.HelloRequest(name=str(i), delay_ms=50))
                )
                for i in range(BURST)
            ]
            process.send_signal(signal.SIGTERM)
            results = await asyncio.gather(*calls, return_exceptions=True)
        _, err = await asyncio.to_thread(process.communicate, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return Counter(outcome(r) for r in results), err, process.returncode


async def test_sigterm_during_a_burst_cancels_nothing(greeter: GreeterKit, tmp_path: Path) -> None:
    outcomes, err, code = await sigterm_during_a_burst(greeter, tmp_path)
    # Calls the server had accepted ran to completion; the others were refused
    # with a status that says they never ran.
    assert set(outcomes) <= {"OK", f"UNAVAILABLE: {REFUSAL}", NOT_CONNECTED}, outcomes
    assert outcomes.total() == BURST
    assert code == 0, err


async def test_calls_during_the_drain_delay_are_all_served(
    greeter: GreeterKit, tmp_path: Path
) -> None:
    outcomes, err, code = await sigterm_during_a_burst(greeter, tmp_path, LB_DRAIN_DELAY="1s")
    assert outcomes == Counter({"OK": BURST})
    assert code == 0, err


async def test_a_call_past_the_budget_is_cancelled_and_named(
    greeter: GreeterKit, tmp_path: Path
) -> None:
    port_file = tmp_path / "ports"
    process = start_service(greeter, port_file, LB_SHUTDOWN_TIMEOUT="500ms")
    try:
        grpc_port, probes_port = await asyncio.to_thread(wait_for_ports, process, port_file)
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as ch,
            httpx.AsyncClient() as client,
        ):
            stub = greeter.stub(ch)
            slow = asyncio.ensure_future(
                stub.SayHello(greeter.pb2.HelloRequest(name="slow", delay_ms=10_000))
            )
            while await in_flight(client, probes_port) < 1:  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            result = await asyncio.gather(slow, return_exceptions=True)
        _, err = await asyncio.to_thread(process.communicate, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # The client sees grpc's cut (the server's GOAWAY), not an answer.
    assert isinstance(result[0], grpc.aio.AioRpcError)
    cancelled = [line for line in err.splitlines() if "still running" in line]
    assert len(cancelled) == 1, err
    assert cancelled[0].endswith(
        'lbtoolkit.server.grpc: grpc server "example": cancelling 1 call still running after '
        "the shutdown budget of 0.5s: /lbtest.greeter.Greeter/SayHello (1)"
    )
    assert process.returncode != 0
