"""A service run as a real process by the tests; it records its hooks in a file.

RECORD_FILE: where hook names are appended. MODE: "ok", "stop_with_error",
"fail_pre_start", "stuck_stop" (a stop hook that hangs), "report_frozen" (the
stop hook also records whether the collector holds frozen objects).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from pathlib import Path

from pydantic import BaseModel, SecretStr

import lbtoolkit
from lbtoolkit.config import env

RECORD = Path(os.environ["RECORD_FILE"])
MODE = os.environ.get("MODE", "ok")


def record(event: str) -> None:
    with RECORD.open("a") as file:
        file.write(event + "\n")


class DatabaseConfig(BaseModel):
    host: str = env("HOST", default="localhost", comment="Database host")
    password: SecretStr = env("PASSWORD", default=SecretStr("s3cret-default"), comment="Password")
    username: str = env("USERNAME", comment="Database user")


class Database:
    def __init__(self, runtime: lbtoolkit.Runtime) -> None:
        self.config = runtime.config.parse(DatabaseConfig, "pgsql", owner='plugin "pgsql"')

    async def pre_start(self) -> None:
        record("pgsql.pre_start")
        if MODE == "fail_pre_start":
            raise ConnectionError("connection refused")

    async def on_stop(self) -> None:
        record("pgsql.on_stop.begin")
        await asyncio.sleep(60 if MODE == "stuck_stop" else 0.05)
        record("pgsql.on_stop")


def main() -> int:
    app = lbtoolkit.new_service("recorder", description="Records its hooks", env_prefix="REC")
    database = Database(app.runtime)
    app.runtime.plugin.provide(lambda: database, provides=Database, name="pgsql")

    async def started() -> None:
        record("started")
        if MODE == "stop_with_error":
            await app.stop(RuntimeError("lost the upstream"))

    def stopping() -> None:
        record("user.on_stop_sync")
        if MODE == "report_frozen":
            record(f"frozen objects: {'yes' if gc.get_freeze_count() else 'no'}")

    app.register_on_start_hook(started)
    app.register_on_stop_sync_hook(stopping)
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
