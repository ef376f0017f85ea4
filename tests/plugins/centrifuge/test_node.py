"""One node behind a real uvicorn server, with real WebSocket clients (no Redis)."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from starlette.routing import Mount
from tests.plugins.centrifuge.realtime import (
    TIMEOUT,
    open_peer,
    running,
    serve,
    slow_socket,
)
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from lbtoolkit.plugins import centrifuge
from lbtoolkit.testing import new_test_runtime, open_plugin

pytestmark = pytest.mark.integration

GOOD_TOKEN = "good"  # noqa: S105 - a test value


async def test_publication_reaches_a_subscriber_until_it_unsubscribes() -> None:
    plugin = centrifuge.new_test_plugin()
    async with running(plugin) as url, open_peer(url, connect_params={}) as peer:
        assert await peer.call("subscribe", {"channel": "news"}) == {"id": 2, "subscribe": {}}
        assert await peer.call("subscribe", {"channel": "sport"}) == {"id": 3, "subscribe": {}}
        assert plugin.node().subscriber_count("news") == 1
        await plugin.publish("news", {"title": "grüße"})
        await plugin.publish("news", b'{"raw": [1, 2]}')
        assert await peer.push() == {"channel": "news", "pub": {"data": {"title": "grüße"}}}
        assert await peer.push() == {"channel": "news", "pub": {"data": {"raw": [1, 2]}}}
        reply = await peer.call("unsubscribe", {"channel": "news"})
        assert reply == {"id": 4, "unsubscribe": {}}
        await plugin.publish("news", "not for you")
        await plugin.publish("sport", "goal")
        assert await peer.push() == {"channel": "sport", "pub": {"data": "goal"}}


async def test_subscribe_hook_rejects_a_channel() -> None:
    plugin = centrifuge.new_test_plugin()
    asked: list[tuple[str, str]] = []

    @plugin.node().on_subscribe
    async def only_public(client: centrifuge.Client, channel: str) -> bool:
        asked.append((client.user, channel))
        return not channel.startswith("private:")

    @plugin.node().on_connect
    def user_from_token(request: centrifuge.ConnectRequest) -> str | None:
        return request.token.removeprefix("user-") or None

    token = {"token": "user-ann"}
    async with running(plugin) as url, open_peer(url, connect_params=token) as peer:
        denied = await peer.call("subscribe", {"channel": "private:bob"})
        assert denied == {"id": 2, "error": {"code": 103, "message": "permission denied"}}
        assert await peer.call("subscribe", {"channel": "public"}) == {"id": 3, "subscribe": {}}
        await plugin.publish("private:bob", "secret")
        await plugin.publish("public", "hello")
        assert await peer.push() == {"channel": "public", "pub": {"data": "hello"}}
    assert asked == [("ann", "private:bob"), ("ann", "public")]
    assert plugin.node().subscriber_count("private:bob") == 0


async def test_connect_hook_sees_headers_and_refuses_with_3500() -> None:
    plugin = centrifuge.new_test_plugin()
    seen: list[centrifuge.ConnectRequest] = []

    @plugin.node().on_connect
    async def check(request: centrifuge.ConnectRequest) -> str | None:
        seen.append(request)
        return "ann" if request.token == GOOD_TOKEN else None

    async with running(plugin) as url:
        async with open_peer(url, additional_headers={"X-Tenant": "acme"}) as peer:
            reply = await peer.call("connect", {"token": GOOD_TOKEN, "data": {"v": 1}})
            assert reply["connect"]["user"] == "ann"
            assert reply["connect"]["client"] == seen[0].client_id
        async with open_peer(url) as peer:
            await peer.ws.send(json.dumps({"id": 1, "connect": {"token": "bad"}}))
            assert await peer.closed() == (3500, "unauthorized")
    assert seen[0].headers["x-tenant"] == "acme"
    assert seen[0].data == {"v": 1}


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '["a list"]',
        '{"subscribe": {"channel": "news"}}',  # no id
        '{"id": 1, "subscribe": {"channel": "news"}}',  # not connected yet
    ],
)
async def test_protocol_errors_close_with_3501(frame: str) -> None:
    plugin = centrifuge.new_test_plugin()
    async with running(plugin) as url, open_peer(url) as peer:
        await peer.ws.send(frame)
        assert await peer.closed() == (3501, "bad request")


async def test_errors_that_keep_the_connection_open() -> None:
    plugin = centrifuge.new_test_plugin(environ={"CENTRIFUGE_CLIENT_CHANNEL_LIMIT": "1"})
    async with running(plugin) as url, open_peer(url, connect_params={}) as peer:
        assert await peer.call("subscribe", {"channel": ""}) == {
            "id": 2,
            "error": {"code": 107, "message": "channel must be a non-empty string"},
        }
        assert await peer.call("subscribe", {"channel": "a"}) == {"id": 3, "subscribe": {}}
        assert (await peer.call("subscribe", {"channel": "a"}))["error"]["code"] == 105
        assert (await peer.call("subscribe", {"channel": "b"}))["error"]["code"] == 106
        assert (await peer.call("presence", {}))["error"]["code"] == 104
        assert (await peer.call("connect", {}))["error"]["code"] == 107
        # Clients may not publish unless a publish hook allows it.
        denied = await peer.call("publish", {"channel": "a", "data": 1})
        assert denied["error"] == {"code": 103, "message": "permission denied"}


async def test_publish_hook_lets_clients_publish_to_each_other() -> None:
    plugin = centrifuge.new_test_plugin()
    plugin.node().on_publish(lambda _client, channel, _data: channel == "chat")
    async with (
        running(plugin) as url,
        open_peer(url, connect_params={}) as ann,
        open_peer(url, connect_params={}) as bob,
    ):
        await bob.call("subscribe", {"channel": "chat"})
        reply = await ann.call("publish", {"channel": "chat", "data": {"text": "hi"}})
        assert reply == {"id": 2, "publish": {}}
        assert await bob.push() == {"channel": "chat", "pub": {"data": {"text": "hi"}}}
        refused = await ann.call("publish", {"channel": "other", "data": 1})
        assert refused["error"]["code"] == 103


async def test_a_failing_hook_answers_internal_error(caplog: pytest.LogCaptureFixture) -> None:
    plugin = centrifuge.new_test_plugin()

    @plugin.node().on_subscribe
    def broken(client: centrifuge.Client, channel: str) -> bool:
        raise LookupError(channel)

    async with running(plugin) as url, open_peer(url, connect_params={}) as peer:
        reply = await peer.call("subscribe", {"channel": "x"})
        assert reply["error"] == {"code": 100, "message": "internal server error"}
    assert "the subscribe hook failed" in caplog.text


async def test_connect_timeout_closes_with_3502() -> None:
    plugin = centrifuge.new_test_plugin(environ={"CENTRIFUGE_CONNECT_TIMEOUT": "200ms"})
    async with running(plugin) as url, open_peer(url) as peer:
        assert await peer.closed() == (3502, "connect timeout")


async def test_on_stop_disconnects_clients_with_3001_and_tells_the_hook() -> None:
    plugin = centrifuge.new_test_plugin()
    gone: list[tuple[int, str]] = []
    plugin.node().on_disconnect(lambda _client, code, reason: gone.append((code, reason)))
    async with serve(plugin.node().route) as base:
        url = base + plugin.node().path
        async with open_plugin(plugin), open_peer(url, connect_params={}) as peer:
            assert plugin.node().client_count == 1
            await plugin.on_stop()
            assert await peer.closed() == (3001, "shutdown")
        assert plugin.node().client_count == 0
        # A stopped node refuses new connections before the handshake.
        with pytest.raises(InvalidStatus):
            async with connect(url, open_timeout=TIMEOUT):
                pass
    assert gone == [(3001, "shutdown")]


async def test_readiness_follows_the_lifecycle() -> None:
    runtime = new_test_runtime("svc")
    plugin = centrifuge.new_plugin(runtime, centrifuge.Options("realtime"))
    report = await runtime.tools.probes.run("readiness")
    assert report["realtime"].startswith("CentrifugeStateError")
    async with open_plugin(plugin):
        assert (await runtime.tools.probes.run("readiness"))["realtime"] == "ok"
    assert (await runtime.tools.probes.run("readiness"))["realtime"] != "ok"


async def test_asgi_endpoint_mounts_as_a_plain_asgi_app() -> None:
    plugin = centrifuge.new_test_plugin()
    mount = Mount("/rt", app=plugin.node().asgi_endpoint)
    async with open_plugin(plugin), serve(mount) as base:
        async with open_peer(base + "/rt/", connect_params={}) as peer:
            assert await peer.call("subscribe", {"channel": "n"}) == {"id": 2, "subscribe": {}}
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(base.replace("ws://", "http://") + "/rt/")
        assert response.status_code == 426


async def test_slow_client_is_disconnected_while_others_keep_receiving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="lbtoolkit.plugins.centrifuge")
    bound = 64 * 1024
    plugin = centrifuge.new_test_plugin(environ={"CENTRIFUGE_CLIENT_QUEUE_MAX_SIZE": str(bound)})
    node = plugin.node()
    gone: list[tuple[int, str]] = []
    dropped = asyncio.Event()

    @node.on_disconnect
    def record(client: centrifuge.Client, code: int, reason: str) -> None:
        gone.append((code, reason))
        dropped.set()

    pad = "x" * 8192
    async with running(plugin) as url:
        slow = slow_socket(url)
        # No compression for the slow client: the padding would shrink to
        # nothing on the wire and never fill its socket.
        sloth_options = {"sock": slow, "max_queue": 1, "compression": None}
        try:
            async with (
                open_peer(url, connect_params={}, **sloth_options) as sloth,
                open_peer(url, connect_params={}) as fast,
            ):
                await sloth.call("subscribe", {"channel": "feed"})
                await fast.call("subscribe", {"channel": "feed"})
                # From here on the slow client reads nothing: its socket's
                # buffers fill, then its queue, then it is dropped.
                published = 0
                async with asyncio.timeout(30):
                    while node.subscriber_count("feed") == 2:
                        published += 1
                        await plugin.publish("feed", {"n": published, "pad": pad})
                        assert (await fast.push())["pub"]["data"]["n"] == published
                        assert published < 5000, "the slow client was never dropped"
                # The fast client keeps receiving after the slow one is gone.
                for _ in range(20):
                    published += 1
                    await plugin.publish("feed", {"n": published, "pad": pad})
                    assert (await fast.push())["pub"]["data"]["n"] == published
                await asyncio.wait_for(dropped.wait(), TIMEOUT)
                assert gone == [(3008, "slow")]
                assert node.client_count == 1
                # Reading at last, the slow client finds its connection ended.
                code, _ = await sloth.closed()
                assert code in (3008, 1006)
        finally:
            slow.close()
    assert f"bound {bound}" in caplog.text
