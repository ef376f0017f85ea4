"""A service whose start can be caught halfway by a signal; it records its hooks in a file.

RECORD_FILE: where events are appended. MODE: "hang_pre_start" (the second
plugin's ``pre_start`` waits forever) or "finishing" (a user start hook that
ignores its cancellation, so the start completes after the signal).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import lbtoolkit

RECORD = Path(os.environ["RECORD_FILE"])
MODE = os.environ["MODE"]


def record(event: str) -> None:
    with RECORD.open("a") as file:
        file.write(event + "\n")


class First:
    """Starts at once; its ``on_stop`` shows that a rollback reached it."""

    async def pre_start(self) -> None:
        record("first.pre_start")

    async def on_stop(self) -> None:
        record("first.on_stop")


class Hanging:
    """Its ``pre_start`` waits for an event that never comes (in MODE hang_pre_start)."""

    async def pre_start(self) -> None:
        if MODE != "hang_pre_start":
            return
        record("hang.pre_start.begin")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            record("hang.pre_start.cancelled")
            raise

    async def on_stop(self) -> None:
        record("hang.on_stop")


async def finishing() -> None:
    """The last start hook; it swallows the cancellation, so the start runs on to its end."""
    record("finishing.begin")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        record("finishing.cancelled")


def main() -> int:
    app = lbtoolkit.new_service("starter", env_prefix="ST")
    app.runtime.plugin.provide(First, name="first")
    app.runtime.plugin.provide(Hanging, name="hang")
    app.tools.probes.add_readiness_listener(lambda ready: record(f"ready={ready}"))
    if MODE == "finishing":
        app.register_on_start_sync_hook(finishing)
    app.register_on_stop_sync_hook(lambda: record("user.on_stop_sync"))
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
