"""The public face of every public package: sorted ``__all__``, real exports, public paths.

A package is public when no part of its dotted name starts with ``_``. Each
class and function it exports must show, as its ``__module__``, the shallowest
public package that exports it (``lbtoolkit.StartError``, not
``lbtoolkit.runtime._errors.StartError``), so tracebacks and reprs name the
path users import. Constants, typing aliases and names re-exported from
other libraries (dishka's ``Scope``) keep their own module.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from collections import defaultdict

import pytest

import lbtoolkit
import lbtoolkit.plugins
import lbtoolkit.testing


def _public_packages() -> list[str]:
    found = ["lbtoolkit"]
    for module in pkgutil.walk_packages(lbtoolkit.__path__, "lbtoolkit."):
        private = any(part.startswith("_") for part in module.name.split("."))
        # Below lbtoolkit.proto are protoc's modules of the shipped .proto files.
        if module.ispkg and not private and not module.name.startswith("lbtoolkit.proto."):
            found.append(module.name)
    return sorted(found)


PACKAGES = _public_packages()


def _sort_key(name: str) -> tuple[bool, bool, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (not name.isupper(), not name[0].isupper(), name)


def _exporters() -> dict[int, list[str]]:
    """Each exported object's id -> the public packages whose ``__all__`` lists it."""
    found: defaultdict[int, list[str]] = defaultdict(list)
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            found[id(getattr(module, name))].append(package)
    return found


def test_the_public_packages_are_found() -> None:
    for expected in ("lbtoolkit.config", "lbtoolkit.server.http", "lbtoolkit.plugins.redis"):
        assert expected in PACKAGES


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_every_name_is_exported(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_sort_key)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(module, name), f"{package}.{name}"


@pytest.mark.parametrize("package", PACKAGES)
def test_each_export_shows_the_shallowest_public_package_that_exports_it(package: str) -> None:
    module = importlib.import_module(package)
    exporters = _exporters()
    for name in module.__all__:
        value = getattr(module, name)
        if not isinstance(value, type | types.FunctionType):
            continue
        if not value.__module__.startswith("lbtoolkit"):
            continue  # another library's name, re-exported for convenience
        homes = exporters[id(value)]
        shallowest = min(home.count(".") for home in homes)
        assert value.__module__ in homes, f"{package}.{name}: {value.__module__}"
        assert value.__module__.count(".") == shallowest, f"{package}.{name}"


# What the toolkit's parts use of each other, never users: importable from
# their private modules, listed in no public package's ``__all__``.
INTERNALS = {
    "lbtoolkit._di": ("Injector",),
    "lbtoolkit.runtime._lifecycle": ("Lifecycle",),
    "lbtoolkit.server._manager": ("Server", "ServerContext", "ServerManager"),
    "lbtoolkit.server._services": ("ServiceRegistry",),
    "lbtoolkit.tools._lifecycle_metrics": ("HookTiming", "LifecycleCollector"),
    "lbtoolkit.tools._listen": (
        "blames_address",
        "listen_tcp",
        "listening_ports_shared",
        "reserve_shared_port",
        "share_listening_ports",
    ),
    "lbtoolkit.tools._request_metrics": ("MethodMetrics", "RedCollector", "RequestMetrics"),
    "lbtoolkit.tools._traces": ("ServerSpan",),
    "lbtoolkit.tools._uvicorn": ("start_server",),
}


@pytest.mark.parametrize("module", sorted(INTERNALS))
def test_internals_stay_private(module: str) -> None:
    exporters = _exporters()
    found = importlib.import_module(module)
    for name in INTERNALS[module]:
        assert exporters.get(id(getattr(found, name)), []) == [], f"{module}.{name}"
        assert getattr(found, name).__module__ == module, f"{module}.{name}"


def test_generated_code_and_users_find_what_they_need_in_public_packages() -> None:
    # What generated modules import (besides the .proto's own _pb2) and what
    # the guide has services import.
    server = importlib.import_module("lbtoolkit.server")
    assert {"RequestContext", "RequestScope", "current_request_context"} <= set(server.__all__)
    tools = importlib.import_module("lbtoolkit.tools")
    assert {"Metrics", "Probes", "Tools", "Traces", "ListenError"} <= set(tools.__all__)


def test_the_test_plugin_builder_is_one_function_reachable_from_both_packages() -> None:
    assert lbtoolkit.testing.build_test_plugin is lbtoolkit.plugins.build_test_plugin
    assert lbtoolkit.testing.new_test_runtime is lbtoolkit.plugins.new_test_runtime
    assert lbtoolkit.plugins.build_test_plugin.__module__ == "lbtoolkit.plugins"


def test_the_command_line_registers_its_commands() -> None:
    cli = importlib.import_module("lbtoolkit.cli")
    commands = cli.app.registered_commands
    assert [getattr(c.callback, "__name__", None) for c in commands] == [
        "check",
        "config",
        "describe",
        "generate",
        "run",
    ]
    assert [g.typer_instance.info.name for g in cli.app.registered_groups] == ["init", "add"]
