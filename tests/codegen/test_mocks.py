"""``option (toolkit.tests_spec)``: autospec'd mocks of the plugins and clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.codegen.support import typed_module

if TYPE_CHECKING:
    from pathlib import Path


def test_plugin_mock_checks_names_and_signatures(on_path: Path) -> None:
    mocks = typed_module(on_path, "myservice_toolkit_mocks")
    plugin = mocks.mock_myplugin_plugin()
    plugin.do_something()
    plugin.do_something.assert_called_once_with()
    with pytest.raises(TypeError):
        plugin.do_something("unexpected")
    with pytest.raises(AttributeError):
        plugin.do_nothing()
    assert plugin.client is not None  # annotated on the Protocol, no method
    assert plugin.instance_name == "myplugin"  # the instance's own, as on a real plugin


async def test_async_plugin_methods_are_awaitable(on_path: Path) -> None:
    mocks = typed_module(on_path, "myservice_toolkit_mocks")
    cache = mocks.mock_session_cache_plugin()
    cache.get.return_value = "cached"
    assert await cache.get("key") == "cached"
    cache.get.assert_awaited_once_with("key")
    with pytest.raises(TypeError):
        await cache.get()


async def test_client_and_services_mocks(on_path: Path) -> None:
    mocks = typed_module(on_path, "myservice_toolkit_mocks")
    services = mocks.mock_my_service_services()
    pb = typed_module(on_path, "myservice_pb2")
    reply = pb.BuildResponse(body="ok")
    services.reports.build.return_value = reply
    request = pb.BuildRequest(name="x")
    assert await services.reports.build(request) is reply
    with pytest.raises(TypeError):
        await services.reports.build()
    with pytest.raises(AttributeError):
        services.reports.destroy()
    assert sorted(mocks.__all__) == mocks.__all__
