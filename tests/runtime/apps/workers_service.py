"""A service run with ``LB_WORKERS`` by ``tests/runtime/test_workers.py``.

It serves ``httptest.users.Users`` over gRPC and HTTP; its ``Sleep`` method
sleeps ``millis`` and answers ``slept`` = the pid of the worker that ran it.
``WORKERS_PROTOS`` is where the protos are compiled. Each worker, once
started, appends ``ready <pid> <grpc port> <http port>`` to ``WORKERS_EVENTS``.
With ``WORKERS_MIGRATE`` set, a ``postgres_pg`` plugin (prefix ``pgsql``)
applies the migrations of ``LB_PGSQL_MIGRATIONS_DIR`` from an invoke, as a
user would, in every worker. With ``WORKERS_PROMETHEUS`` set, a
``prometheus`` plugin (prefix ``prom``) counts the ``Sleep`` calls in
``users_sleeps_total``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[3]))

from tests.server.http.support import compile_protos, spec_of
from tests.server.http.users import UsersService

import lbtoolkit
from lbtoolkit.plugins import postgres_pg, prometheus
from lbtoolkit.server import RequestContext
from lbtoolkit.spec import ServerKind

SERVICE = "users"
EVENTS = Path(os.environ["WORKERS_EVENTS"])


class PidService(UsersService):
    sleeps: Any = None  # the prometheus plugin's counter, when WORKERS_PROMETHEUS is set

    async def sleep(self, request: Any, context: RequestContext) -> Any:  # noqa: ARG002
        if self.sleeps is not None:
            self.sleeps.inc()
        await asyncio.sleep(request.millis / 1000)
        return self.pb.SleepResponse(slept=os.getpid())


def record(line: str) -> None:
    # One short write on an O_APPEND file: lines of concurrent workers never mix.
    fd = os.open(EVENTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def main() -> int:
    out = Path(os.environ["WORKERS_PROTOS"])
    out.mkdir(parents=True, exist_ok=True)
    protos = compile_protos(out)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], PidService)
    app = lbtoolkit.new_service(SERVICE, env_prefix="LB", description="workers test service")
    app.server.declare(dataclasses.replace(spec, servers=(ServerKind.GRPC, ServerKind.HTTP)))
    app.provide(lambda: PidService(protos.users), provides=PidService)
    if os.environ.get("WORKERS_MIGRATE"):
        plugin = postgres_pg.new_plugin(app.runtime, postgres_pg.Options(name="pgsql"))
        app.runtime.plugin.provide(lambda: plugin, provides=postgres_pg.Plugin, name="pgsql")

        async def migrate() -> None:
            applied = await plugin.run_migration()
            record(f"migrated {os.getpid()} {len(applied)}")

        app.invoke(migrate)

    if os.environ.get("WORKERS_PROMETHEUS"):
        metrics = prometheus.new_plugin(app.runtime, prometheus.Options(name="prom"))
        app.runtime.plugin.provide(lambda: metrics, provides=prometheus.Plugin, name="prom")
        PidService.sleeps = metrics.counter("sleeps", "Sleep calls answered")

    def started() -> None:
        record(f"ready {os.getpid()} {app.server.grpc.port} {app.server.http.port}")

    app.register_on_start_sync_hook(started)
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
