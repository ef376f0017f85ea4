"""A service with N plugins, for start-up time and memory.

Usage: ``BENCH_STARTUP_KIND=noop|connect BENCH_STARTUP_PLUGINS=N python -m
bench.workers.startup_app [--help]``. Prints ``READY`` on stdout once started
(from its last start hook), then runs until SIGTERM.
"""

from __future__ import annotations

import os
import sys

import lbtoolkit
from bench.workers.modules import record_at_exit
from bench.workers.startup_plugins import add_connecting, add_noop, set_connection_environ

ENV_PREFIX = "SU"


def _ready() -> None:
    sys.stdout.write("READY\n")
    sys.stdout.flush()


def main() -> int:
    record_at_exit()
    kind = os.environ.get("BENCH_STARTUP_KIND", "noop")
    count = int(os.environ.get("BENCH_STARTUP_PLUGINS", "0"))
    if kind == "connect":
        set_connection_environ(ENV_PREFIX, count)
    app = lbtoolkit.new_service("startup", env_prefix=ENV_PREFIX)
    if kind == "connect":
        add_connecting(app, count)
    else:
        add_noop(app, count)
    app.register_on_start_sync_hook(_ready)
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
