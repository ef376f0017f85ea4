"""The fault suite's service, run as a real process by ``tests/faults/processes.py``.

It serves ``httptest.users.Users`` (path and query parameters, ``body: "*"``,
a ``Sleep`` method) over gRPC and HTTP, and declares the plugins listed in
``FAULT_PLUGINS`` (``entry_point:prefix,...``, in declaration order), built
through their entry points as generated code would. ``FAULT_PROTOS`` is where
the protos are compiled; once started, the service writes its gRPC, HTTP and
probes ports to ``FAULT_PORT_FILE`` and each plugin's ``info()`` to stdout.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[3]))

import lbtoolkit
from lbtoolkit.spec import ServerKind
from tests.faults.processes import SERVICE, SERVICE_PREFIX
from tests.server.http.support import compile_protos, spec_of
from tests.server.http.users import UsersService


def constant(value: object) -> Callable[[], object]:
    """A constructor returning ``value``."""
    return lambda: value


def declare_plugins(app: lbtoolkit.Service, declared: str) -> list[object]:
    """Build each ``entry_point:prefix`` of ``declared`` and provide it under its class."""
    plugins: list[object] = []
    for item in filter(None, declared.split(",")):
        name, _, prefix = item.partition(":")
        (entry,) = entry_points(group="lbtoolkit.plugins", name=name)
        module = entry.load()
        plugin = module.new_plugin(app.runtime, module.Options(name=prefix))
        app.runtime.plugin.provide(constant(plugin), provides=type(plugin), name=prefix)
        plugins.append(plugin)
    return plugins


def main() -> int:
    out = Path(os.environ["FAULT_PROTOS"])
    out.mkdir(parents=True, exist_ok=True)
    protos = compile_protos(out)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    app = lbtoolkit.new_service(
        SERVICE, env_prefix=SERVICE_PREFIX, description="fault suite service"
    )
    plugins = declare_plugins(app, os.environ.get("FAULT_PLUGINS", ""))
    app.server.declare(dataclasses.replace(spec, servers=(ServerKind.GRPC, ServerKind.HTTP)))
    app.provide(lambda: UsersService(protos.users), provides=UsersService)

    def started() -> None:
        for plugin in plugins:
            plugin.info()  # type: ignore[attr-defined]  # every shipped plugin has info()
        sys.stdout.flush()
        probes = app.server.probes
        ports = [app.server.grpc.port, app.server.http.port, probes.port if probes else 0]
        target = Path(os.environ["FAULT_PORT_FILE"])
        partial = target.with_suffix(".partial")
        partial.write_text(" ".join(map(str, ports)))
        partial.replace(target)  # the test never reads half a file

    app.register_on_start_sync_hook(started)
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
