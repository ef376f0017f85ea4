"""The standard health service follows the lifecycle."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import lbtoolkit
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, channel

SERVICE = "lbtest.greeter.Greeter"
Status = health_pb2.HealthCheckResponse


async def check(app: lbtoolkit.Service, service: str = "") -> str:
    async with channel(app) as ch:
        response = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service=service)
        )
    return str(Status.ServingStatus.Name(response.status))


async def test_not_serving_while_starting_then_serving(greeter: GreeterKit) -> None:
    app = greeter.new_app()
    seen: list[str] = []

    async def during_start() -> None:  # the server listens; start hooks still run
        seen.append(await check(app))
        seen.append(await check(app, SERVICE))

    app.register_on_start_sync_hook(during_start)
    async with open_service(app):
        assert seen == ["NOT_SERVING", "NOT_SERVING"]
        assert await check(app) == "SERVING"
        assert await check(app, SERVICE) == "SERVING"


async def test_unknown_service_is_not_found(app: lbtoolkit.Service) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await check(app, "no.such.Service")
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


async def test_not_serving_as_soon_as_stop_begins_while_requests_drain(greeter: GreeterKit) -> None:
    app = greeter.new_app()
    await app.start()
    async with channel(app) as ch:
        watch = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        updates: list[str] = []
        first = await watch.read()
        updates.append(Status.ServingStatus.Name(first.status))
        slow = asyncio.ensure_future(
            greeter.stub(ch).SayHello(greeter.pb2.HelloRequest(name="a", delay_ms=300))
        )
        await asyncio.sleep(0.05)
        not_ready = asyncio.Event()
        app.runtime.tools.probes.add_readiness_listener(lambda _ready: not_ready.set())
        stopping = asyncio.ensure_future(app.stop())
        await not_ready.wait()  # the first step of stop
        assert not slow.done()
        assert app.server.grpc.health is not None
        assert app.server.grpc.health.status(SERVICE) == "NOT_SERVING"
        while (update := await watch.read()) is not grpc.aio.EOF:
            updates.append(Status.ServingStatus.Name(update.status))
        assert (await slow).message == "Hello, a!"
        await stopping
    assert updates == ["SERVING", "NOT_SERVING"]


async def test_watch_streams_do_not_hold_the_drain(greeter: GreeterKit) -> None:
    app = greeter.new_app({"LB_SHUTDOWN_TIMEOUT": "10s"})
    await app.start()
    async with channel(app) as ch:
        watch: Any = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest())
        await watch.read()
        loop = asyncio.get_running_loop()
        began = loop.time()
        await app.stop()
        assert loop.time() - began < 2
