"""The Sentry plugin against a local ingest: events arrive, failures are named."""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import cast

import pytest
import sentry_sdk
from tests.plugins.sentry.sentry_support import (
    Ingest,
    closed_port,
    exception_value,
    open_ingest,
    wait_for,
)

from lbtoolkit import StartError, StopError, new_service
from lbtoolkit.plugins.sentry import (
    Options,
    Plugin,
    SentryPlugin,
    new_plugin,
    new_test_plugin,
)
from lbtoolkit.testing import open_plugin

pytestmark = pytest.mark.integration


def environ(ingest: Ingest, **extra: str) -> dict[str, str]:
    return {"SENTRY_DSN": ingest.dsn(), "SENTRY_RELEASE": "shop@1.2.3", **extra}


async def test_events_reach_the_ingest_with_environment_and_release(ingest: Ingest) -> None:
    marker = uuid.uuid4().hex
    plugin = new_test_plugin(environ=environ(ingest, SENTRY_ENVIRONMENT="staging"))
    async with open_plugin(plugin):
        assert plugin.capture_message(f"hello {marker}") is not None
        try:
            raise ValueError(f"captured {marker}")  # noqa: TRY301 - raised to be captured
        except ValueError:
            plugin.capture_exception()
        try:
            raise KeyError(f"logged {marker}")  # noqa: TRY301 - raised to be logged
        except KeyError:
            logging.getLogger("lbtoolkit.test").exception("something failed")
        await plugin.flush(5)

        message = await ingest.wait_for(lambda e: e.get("message") == f"hello {marker}")
        captured = await ingest.wait_for(lambda e: exception_value(e) == f"captured {marker}")
        logged = await ingest.wait_for(lambda e: f"logged {marker}" in exception_value(e))
    assert ingest.paths[0] == "/api/42/envelope/"
    for event in (message, captured, logged):
        assert event["environment"] == "staging"
        assert event["release"] == "shop@1.2.3"
    assert logged["logger"] == "lbtoolkit.test"
    assert logged["level"] == "error"


async def test_sample_rate_zero_sends_nothing(ingest: Ingest) -> None:
    plugin = new_test_plugin(environ=environ(ingest, SENTRY_SAMPLE_RATE="0"))
    async with open_plugin(plugin):
        assert plugin.capture_message("dropped") is None
        await plugin.flush(2)
    assert ingest.events == []


async def test_failing_hooks_of_a_running_service_reach_the_ingest(ingest: Ingest) -> None:
    marker = uuid.uuid4().hex
    app = new_service(
        "shop",
        version="1.0.0",
        env_prefix="SHOP",
        environ={"SHOP_SENTRY_DSN": ingest.dsn()},
        argv=[],
    )
    plugin = new_plugin(app.runtime, Options())
    app.runtime.plugin.provide(lambda: plugin, provides=Plugin, name="sentry")

    async def failing_start_hook() -> None:
        raise RuntimeError(f"start hook {marker}")

    async def failing_stop_hook() -> None:
        raise RuntimeError(f"stop hook {marker}")

    app.register_on_start_hook(failing_start_hook)
    app.register_on_stop_hook(failing_stop_hook)
    await app.start()
    try:
        started = await ingest.wait_for(lambda e: exception_value(e) == f"start hook {marker}")
    finally:
        with pytest.raises(StopError):
            await app.stop()
    # The plugin stops after the user's hooks and sends what is pending first.
    stopped = await ingest.wait_for(lambda e: exception_value(e) == f"stop hook {marker}")
    for event in (started, stopped):
        assert event["logger"].startswith("lbtoolkit.")
        assert event["release"] == "1.0.0"
    assert not sentry_sdk.get_client().is_active()


async def test_a_later_plugins_start_failure_is_reported(ingest: Ingest) -> None:
    app = new_service("shop", env_prefix="SHOP", environ={"SHOP_SENTRY_DSN": ingest.dsn()}, argv=[])
    plugin = new_plugin(app.runtime, Options())

    class Broken:
        async def pre_start(self) -> None:
            raise ConnectionRefusedError("database down")

    app.runtime.plugin.provide(lambda: plugin, provides=Plugin, name="sentry")
    app.runtime.plugin.provide(Broken, provides=Broken, name="db")
    with pytest.raises(StartError):
        await app.start()
    event = await ingest.wait_for(lambda e: e.get("logger") == "lbtoolkit.lifecycle")
    assert event["level"] == "error"


async def test_without_dsn_nothing_is_set_up_and_readiness_is_fine() -> None:
    plugin = cast("SentryPlugin", new_test_plugin())
    async with open_plugin(plugin):
        assert not plugin.client().is_active()
        assert plugin.capture_message("nowhere") is None
        assert await plugin._runtime.tools.probes.run("readiness") == {
            "sentry": "ok",
            "lifecycle": "not started",
        }


async def test_closed_port_fails_the_start_when_checked_naming_prefix_host_and_port() -> None:
    port = closed_port()
    app = new_service(
        "shop",
        env_prefix="SHOP",
        environ={
            "SHOP_ERRORS_DSN": f"http://s3cretkey@127.0.0.1:{port}/7",
            "SHOP_ERRORS_CHECK_CONNECTION": "true",
        },
        argv=[],
    )
    plugin = new_plugin(app.runtime, Options("errors"))
    app.runtime.plugin.provide(lambda: plugin, provides=Plugin, name="errors")
    with pytest.raises(StartError) as caught:
        await app.start()
    text = str(caught.value)
    assert (
        'plugin "errors" pre_start: SentryConnectionError: plugin "errors" (sentry): '
        f"cannot connect to 127.0.0.1:{port}: ConnectionRefusedError: "
    ) in text
    assert "Hint: check SHOP_ERRORS_DSN and that Sentry is reachable from here" in text
    assert "s3cretkey" not in text
    report = await app.runtime.tools.probes.run("readiness")
    assert report["errors"] == 'SentryNotStartedError: plugin "errors" (sentry): not started'
    assert not sentry_sdk.get_client().is_active()


async def test_readiness_fails_when_the_ingest_goes_away() -> None:
    with contextlib.ExitStack() as stack:
        ingest = stack.enter_context(open_ingest())
        variables = environ(ingest, SENTRY_CHECK_CONNECTION="true")
        plugin = cast("SentryPlugin", new_test_plugin(environ=variables))
        probes = plugin._runtime.tools.probes
        async with open_plugin(plugin):
            assert (await probes.run("readiness"))["sentry"] == "ok"
            stack.close()  # the ingest stops listening
            report = (await probes.run("readiness"))["sentry"]
    assert report.startswith(
        f'SentryConnectionError: plugin "sentry" (sentry): cannot connect to '
        f"127.0.0.1:{ingest.port}: ConnectionRefusedError: "
    )


async def test_on_stop_sends_pending_events_and_releases_the_connection(ingest: Ingest) -> None:
    plugin = new_test_plugin(environ=environ(ingest))
    async with open_plugin(plugin):
        plugin.capture_message("keep the connection open")
        await plugin.flush(5)
        await wait_for(lambda: ingest.open_connections >= 1, 5, "no connection to the ingest")
        plugin.capture_message("pending at stop")
    assert ingest.matching(lambda e: e.get("message") == "pending at stop")
    await wait_for(lambda: ingest.open_connections == 0, 5, "the connection was not released")
    assert not sentry_sdk.get_client().is_active()
