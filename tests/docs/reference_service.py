"""A service declaring every part that reads variables, for docs/configuration.md.

One instance of each shipped plugin, named after its plugin, and one service
served over gRPC and HTTP; built with an empty environment so the rendered
defaults never depend on the machine. ``lbtoolkit config
tests.docs.reference_service:build --markdown --owner 'plugin "redis"'``
prints one section of the reference; ``python -m tests.docs.reference_service``
(from the repository root) rewrites every section of docs/configuration.md
and the examples' ``.env.example`` files after a variable changed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import lbtoolkit
from lbtoolkit.plugins import (
    centrifuge,
    nats,
    postgres_gorm,
    postgres_pg,
    postgres_pgx,
    prometheus,
    rabbitmq,
    redis,
    sentry,
)
from lbtoolkit.spec import ServerKind, ServiceSpec

__all__ = ["ENV_PREFIX", "SERVICE", "build", "refresh"]

ENV_PREFIX = "MYSERVICE"
SERVICE = "orders"


class OrdersRpcServer(Protocol):
    """No method: the servers' variables do not depend on the methods served."""


SPEC = ServiceSpec(
    name=SERVICE,
    full_name="orders.v1.Orders",
    servers=(ServerKind.GRPC, ServerKind.HTTP),
    methods=(),
    rpc_server=OrdersRpcServer,
    proto_file="orders.proto",
)


def build() -> lbtoolkit.Service:
    app = lbtoolkit.new_service(SERVICE, env_prefix=ENV_PREFIX, environ={}, argv=[])
    postgres_gorm.new_plugin(app.runtime, postgres_gorm.Options(name="postgres_gorm"))
    postgres_pg.new_plugin(app.runtime, postgres_pg.Options(name="postgres_pg"))
    postgres_pgx.new_plugin(app.runtime, postgres_pgx.Options(name="postgres_pgx"))
    redis.new_plugin(app.runtime, redis.Options(name="redis"))
    rabbitmq.new_plugin(app.runtime, rabbitmq.Options(name="rabbitmq"))
    nats.new_plugin(app.runtime, nats.Options(name="nats"))
    centrifuge.new_plugin(app.runtime, centrifuge.Options(name="centrifuge"))
    sentry.new_plugin(app.runtime, sentry.Options(name="sentry"))
    prometheus.new_plugin(app.runtime, prometheus.Options(name="prometheus"))
    app.server.declare(SPEC)
    return app


ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"<!-- lbtoolkit:config (.+?) -->\n.*?<!-- /lbtoolkit:config -->", re.DOTALL)


def _config(*arguments: str) -> str:
    examples = [ROOT / "examples" / "users", ROOT / "examples" / "notifier"]
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(p) for p in (*examples, ROOT, ROOT / "src")),
    }
    return subprocess.run(
        [sys.executable, "-m", "lbtoolkit.cli", "config", *arguments],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def refresh() -> None:
    """Rewrite the generated parts of docs/configuration.md and the examples' .env.example."""
    reference = ROOT / "docs" / "configuration.md"

    def section(match: re.Match[str]) -> str:
        owner = match[1]
        table = _config("tests.docs.reference_service:build", "--markdown", "--owner", owner)
        return f"<!-- lbtoolkit:config {owner} -->\n{table}<!-- /lbtoolkit:config -->"

    reference.write_text(_BLOCK.sub(section, reference.read_text(encoding="utf-8")), "utf-8")
    for example in ("users", "notifier"):
        target = f"{example}_service.service:build"
        _config(target, "--env-example", str(ROOT / "examples" / example / ".env.example"))


if __name__ == "__main__":
    refresh()
