"""The demo service: a greeter that keeps a visit counter in Redis.

Run it with ``make demo``; stop it with Ctrl+C. ``python examples/demo/main.py help --all``
lists every environment variable it reads.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import BaseModel

import lbtoolkit
from lbtoolkit.config import env


class GreeterConfig(BaseModel):
    greeting: str = env("GREETING", default="hello", comment="What the greeter says")
    interval: float = env("INTERVAL", default=2.0, comment="Seconds between two greetings")


class Greeter:
    """A package: user code with lifecycle hooks, built by dependency injection."""

    def __init__(self, config: GreeterConfig, service: lbtoolkit.Service) -> None:
        self._config = config
        self._log = service.log
        self._task: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        self._task = asyncio.create_task(self._greet())

    async def on_stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _greet(self) -> None:
        count = 0
        while True:
            count += 1
            self._log.info("%s #%d", self._config.greeting, count)
            await asyncio.sleep(self._config.interval)


def main() -> int:
    app = lbtoolkit.new_service(
        "demo", version="0.1.0", description="lbtoolkit demo service", env_prefix="DEMO"
    )
    app.register_config(GreeterConfig)
    app.register_package(Greeter)
    app.register_on_start_sync_hook(
        lambda: app.log.info("demo is running; press Ctrl+C to stop (help: main.py help --all)")
    )
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
