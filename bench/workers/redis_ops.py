"""Redis GET and SET through the plugin's client and through a plain redis-py client.

Usage: ``python -m bench.workers.redis_ops measure DURATION`` prints
``{"get": {"rates": {"plugin": ops/s, "raw": ops/s}, "blocks": {...}},
"set": {...}}``, both sides measured in alternating blocks (``blocks``: each
side's rate per block); ``profile plugin|raw DURATION`` runs one side
in a profile window per operation.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from redis.asyncio import Redis

from bench.workers.timing import Op, emit, paired, profiled
from lbtoolkit.plugins import redis as redis_plugin
from lbtoolkit.testing import new_test_runtime, open_plugin

KEY = "lbtoolkit-bench:key"
VALUE = b"v" * 64


def _ops(client: Any) -> dict[str, Op]:
    async def get(_: int) -> None:
        if await client.get(KEY) != VALUE:
            msg = "GET returned another value"
            raise RuntimeError(msg)

    async def set_(_: int) -> None:
        await client.set(KEY, VALUE)

    return {"get": get, "set": set_}


async def main(mode: str, duration: float, side: str = "") -> None:
    runtime = new_test_runtime("lbbench", environ={"CACHE_ADDR": "127.0.0.1:6379"})
    plugin = redis_plugin.new_plugin(runtime, redis_plugin.Options(name="cache"))
    runtime.config.raise_for_issues()
    raw = Redis(host="127.0.0.1", port=6379)
    try:
        async with open_plugin(plugin):
            await raw.set(KEY, VALUE)
            ops = {"plugin": _ops(plugin.client()), "raw": _ops(raw)}
            result: dict[str, Any] = {}
            for kind in ("get", "set"):
                if mode == "measure":
                    sides = {name: ops[name][kind] for name in ops}
                    result[kind] = await paired(sides, duration=duration)
                else:
                    result[kind] = await profiled(ops[side][kind], duration=duration, label=kind)
            emit(result)
    finally:
        await raw.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[-1]), *sys.argv[2:-1]))
