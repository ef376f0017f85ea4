"""lbtoolkit hello service: the bench service (gRPC and HTTP) with one redis plugin.

Usage: ``python -m bench.servers.peer_lbt_hello`` with the ``LBB_*`` variables;
the redis plugin is ``cache`` (``LBB_CACHE_ADDR``). ``build()`` makes the
service without starting it, for the import-time measurement.
"""

from __future__ import annotations

import sys
from typing import Any

from bench.servers.lbt_service import build as build_bench_service
from lbtoolkit.plugins import redis

__all__ = ["PLUGIN", "build"]

PLUGIN = "cache"


class CachePlugin:
    """The key the plugin is provided under, as generated code declares one."""


def build() -> Any:
    app = build_bench_service()
    plugin = redis.new_plugin(app.runtime, redis.Options(name=PLUGIN))
    app.runtime.plugin.provide(lambda: plugin, provides=CachePlugin)
    return app


def main() -> int:
    code: int = build().run()
    return code


if __name__ == "__main__":
    sys.exit(main())
