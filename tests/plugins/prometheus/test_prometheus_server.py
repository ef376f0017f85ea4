"""The plugin's own metrics listener: scraped over real HTTP, failures named."""

from __future__ import annotations

import socket
from typing import cast

import httpx
import pytest

from lbtoolkit import StartError, new_service
from lbtoolkit.plugins.prometheus import (
    Options,
    Plugin,
    PrometheusPlugin,
    PrometheusServerError,
    new_plugin,
    new_test_plugin,
)
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration

LISTENER = {
    "PROMETHEUS_SERVER_ENABLED": "true",
    "PROMETHEUS_SERVER_LISTEN": "127.0.0.1",
    "PROMETHEUS_SERVER_PORT": "0",
}


async def test_metrics_are_scraped_from_the_plugins_own_port() -> None:
    plugin = new_test_plugin(environ={**LISTENER, "PROMETHEUS_NAMESPACE": "shop"})
    orders = plugin.counter("orders", "Orders placed", ["status"])
    async with open_plugin(plugin):
        assert plugin.address is not None
        host, port = plugin.address
        assert host == "127.0.0.1"
        assert port > 0
        orders.labels(status="paid").inc()
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=5) as client:
            response = await client.get("/metrics")
            missing = await client.get("/other")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'shop_orders_total{status="paid"} 1.0' in response.text
    assert "process_cpu_seconds_total" in response.text
    assert missing.status_code == 404


async def test_a_taken_port_fails_the_service_start_naming_prefix_host_and_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = new_service(
            "shop",
            env_prefix="SHOP",
            environ={
                "SHOP_METRICS_SERVER_ENABLED": "true",
                "SHOP_METRICS_SERVER_LISTEN": "127.0.0.1",
                "SHOP_METRICS_SERVER_PORT": str(port),
            },
            argv=[],
        )
        plugin = new_plugin(app.runtime, Options("metrics"))
        app.runtime.plugin.provide(lambda: plugin, provides=Plugin, name="metrics")
        with pytest.raises(StartError) as caught:
            await app.start()
    text = str(caught.value)
    assert (
        'plugin "metrics" pre_start: PrometheusServerError: plugin "metrics" (prometheus): '
        f"cannot listen on 127.0.0.1:{port}: OSError: [Errno 98] Address already in use. "
        "Hint: set SHOP_METRICS_SERVER_PORT to a free port (or 0) and SHOP_METRICS_SERVER_LISTEN "
        "to a local address"
    ) in text
    report = await app.runtime.tools.probes.run("readiness")
    assert report["metrics"] == (
        'PrometheusNotServingError: plugin "metrics" (prometheus): the metrics server is '
        "not serving (not started, or stopped)"
    )


async def test_an_address_not_of_this_host_is_named() -> None:
    plugin = new_test_plugin(environ={**LISTENER, "PROMETHEUS_SERVER_LISTEN": "192.0.2.1"})
    with pytest.raises(PrometheusServerError) as caught:
        await plugin.pre_start()
    assert (caught.value.host, caught.value.port) == ("192.0.2.1", 0)
    assert "Cannot assign requested address" in caught.value.cause


async def test_readiness_follows_the_listener() -> None:
    plugin = cast("PrometheusPlugin", new_test_plugin(environ=LISTENER))
    probes = plugin._runtime.tools.probes
    async with open_plugin(plugin):
        assert (await probes.run("readiness"))["prometheus"] == "ok"
        server = plugin._server
        assert server is not None
        # The listener dies under the plugin: readiness must notice.
        await server.stop(1)
        report = (await probes.run("readiness"))["prometheus"]
    assert report == (
        'PrometheusNotServingError: plugin "prometheus" (prometheus): the metrics server is '
        "not serving (not started, or stopped)"
    )


async def test_readiness_is_fine_without_a_listener() -> None:
    plugin = cast("PrometheusPlugin", new_test_plugin())
    async with open_plugin(plugin):
        assert plugin.address is None
        assert (await plugin._runtime.tools.probes.run("readiness"))["prometheus"] == "ok"


async def test_on_stop_closes_connections_and_releases_the_port() -> None:
    plugin = new_test_plugin(environ=LISTENER)
    async with httpx.AsyncClient(timeout=5) as client:
        async with open_plugin(plugin):
            assert plugin.address is not None
            host, port = plugin.address
            url = f"http://{host}:{port}/metrics"
            assert (await client.get(url)).status_code == 200  # a kept-alive connection
        assert plugin.address is None
        with pytest.raises(httpx.TransportError):
            await client.get(url)
    with socket.socket() as again:
        # On Linux SO_REUSEADDR passes connections in TIME_WAIT, never a listener.
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind((host, port))
        again.listen()
