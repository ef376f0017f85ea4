"""Nodes sharing Redis: fan-out across replicas, isolation, failures, cleanup."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis
from starlette.routing import WebSocketRoute
from tests.plugins.centrifuge.realtime import TIMEOUT, open_peer, running, serve
from tests.plugins.redis.servers import SHARED_HOST, SHARED_PORT, closed_port, start_redis

import lbtoolkit
from lbtoolkit.plugins import centrifuge
from lbtoolkit.testing import new_test_runtime, open_plugin

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from tests.plugins.redis.servers import RedisProcess

pytestmark = pytest.mark.integration

PATH = "/connection/websocket"
SHARED = f"{SHARED_HOST}:{SHARED_PORT}"


def replica(
    service: str, prefix: str = "realtime", environ: Mapping[str, str] | None = None
) -> tuple[lbtoolkit.Runtime, centrifuge.Plugin]:
    """One replica of ``service``: its own runtime and plugin, Redis on the shared server."""
    env = {f"{prefix.upper()}_REDIS_ADDR": SHARED, **(environ or {})}
    runtime = new_test_runtime(service, environ=env)
    plugin = centrifuge.new_plugin(runtime, centrifuge.Options(prefix))
    runtime.config.raise_for_issues()
    return runtime, plugin


async def named_clients(name: str, port: int = SHARED_PORT) -> int:
    async with Redis(host=SHARED_HOST, port=port) as raw:
        return sum(c.get("name") == name for c in await raw.client_list())


async def test_publication_fans_out_to_a_client_of_the_other_replica() -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    _, first = replica(service)
    _, second = replica(service)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(open_plugin(first))
        await stack.enter_async_context(open_plugin(second))
        first_url = await stack.enter_async_context(serve(first.node().route)) + PATH
        second_url = await stack.enter_async_context(serve(second.node().route)) + PATH
        on_first = await stack.enter_async_context(open_peer(first_url, connect_params={}))
        on_second = await stack.enter_async_context(open_peer(second_url, connect_params={}))
        await on_first.call("subscribe", {"channel": "news"})
        await on_second.call("subscribe", {"channel": "news"})
        assert second.node().subscriber_count("news") == 1
        await first.publish("news", {"from": "first"})
        assert await on_second.push() == {"channel": "news", "pub": {"data": {"from": "first"}}}
        assert await on_first.push() == {"channel": "news", "pub": {"data": {"from": "first"}}}
        await second.publish("news", b'"from second"')
        assert await on_first.push() == {"channel": "news", "pub": {"data": "from second"}}
        assert await on_second.push() == {"channel": "news", "pub": {"data": "from second"}}


async def test_instances_under_other_prefixes_do_not_hear_each_other() -> None:
    environ = {
        "MYSERVICE_CHAT_REDIS_ADDR": SHARED,
        "MYSERVICE_NOTIFICATIONS_REDIS_ADDR": SHARED,
    }
    runtime = new_test_runtime(
        f"svc-{uuid.uuid4().hex[:8]}", env_prefix="MYSERVICE", environ=environ
    )
    chat = centrifuge.new_plugin(runtime, centrifuge.Options("chat"))
    notifications = centrifuge.new_plugin(runtime, centrifuge.Options("notifications"))
    runtime.config.raise_for_issues()
    routes = (chat.node().route, WebSocketRoute("/notifications", notifications.node().serve))
    async with (
        open_plugin(chat),
        open_plugin(notifications),
        serve(*routes) as base,
        open_peer(base + PATH, connect_params={}) as chatter,
        open_peer(base + "/notifications", connect_params={}) as notified,
    ):
        await chatter.call("subscribe", {"channel": "news"})
        await notified.call("subscribe", {"channel": "news"})
        await chat.publish("news", "chat only")
        await notifications.publish("news", "notifications only")
        assert await chatter.push() == {"channel": "news", "pub": {"data": "chat only"}}
        assert await notified.push() == {"channel": "news", "pub": {"data": "notifications only"}}
        assert await readiness(runtime) == {"chat": "ok", "notifications": "ok"}


async def readiness(runtime: lbtoolkit.Runtime) -> dict[str, str]:
    report = await runtime.tools.probes.run("readiness")
    report.pop("lifecycle", None)
    return report


async def test_unreachable_redis_fails_the_start_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = closed_port()
    secret = "hunter2-" + uuid.uuid4().hex
    environ = {"REALTIME_REDIS_ADDR": f"127.0.0.1:{port}", "REALTIME_REDIS_PASSWORD": secret}
    runtime = new_test_runtime("svc", environ=environ)
    plugin = centrifuge.new_plugin(runtime, centrifuge.Options("realtime"))
    with pytest.raises(centrifuge.CentrifugeConnectError) as caught:
        await plugin.pre_start()
    assert isinstance(caught.value, ConnectionError)
    assert str(caught.value) == (
        f'plugin "realtime" (centrifuge): cannot connect to Redis at 127.0.0.1:{port}: '
        f"Error 111 connecting to 127.0.0.1:{port}. Connect call failed ('127.0.0.1', {port}).\n"
        "Hint: check that Redis is running there, or point REALTIME_REDIS_ADDR at it "
        "(empty keeps publications on one replica)"
    )
    assert secret not in str(caught.value)
    assert secret not in caplog.text
    assert (await readiness(runtime))["realtime"] != "ok"


async def test_on_stop_releases_the_redis_connections() -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    _, plugin = replica(service)
    name = f"{service}.realtime"
    assert await named_clients(name) == 0
    async with open_plugin(plugin):
        await plugin.publish("news", 1)
        # One connection reads the subscription, one publishes.
        assert await named_clients(name) == 2
    deadline = time.monotonic() + TIMEOUT
    while await named_clients(name):
        assert time.monotonic() < deadline, "Redis connections left open after on_stop"
        await asyncio.sleep(0.05)


async def test_publish_fails_clearly_when_redis_is_gone(private_redis: RedisProcess) -> None:
    _, plugin = replica(
        f"svc-{uuid.uuid4().hex[:8]}", environ={"REALTIME_REDIS_ADDR": private_redis.addr}
    )
    async with open_plugin(plugin):
        private_redis.stop()
        with pytest.raises(centrifuge.CentrifugePublishError) as caught:
            await plugin.publish("news", 1)
    assert str(caught.value).startswith(
        "plugin \"realtime\" (centrifuge): publish to 'news' failed: "
    )


async def test_readiness_follows_redis_down_and_back_up(tmp_path: Path) -> None:
    server = start_redis(tmp_path, closed_port())
    try:
        runtime, plugin = replica(
            f"svc-{uuid.uuid4().hex[:8]}", environ={"REALTIME_REDIS_ADDR": server.addr}
        )
        async with running(plugin) as url, open_peer(url, connect_params={}) as peer:
            await peer.call("subscribe", {"channel": "news"})
            assert (await readiness(runtime))["realtime"] == "ok"
            server.stop()
            await wait_until(runtime, lambda status: status != "ok")
            # The same port again: the node subscribes again by itself.
            server = start_redis(tmp_path, server.port)
            await wait_until(runtime, lambda status: status == "ok")
            await plugin.publish("news", "back")
            assert await peer.push() == {"channel": "news", "pub": {"data": "back"}}
    finally:
        server.stop()


async def wait_until(runtime: lbtoolkit.Runtime, wanted: Callable[[str], bool]) -> None:
    deadline = time.monotonic() + 3 * TIMEOUT
    while not wanted((await readiness(runtime))["realtime"]):
        assert time.monotonic() < deadline, await readiness(runtime)
        await asyncio.sleep(0.1)
