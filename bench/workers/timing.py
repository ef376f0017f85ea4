"""Timed loops for client workers: paired, interleaved measurement of two sides.

Both sides (the plugin and the library it wraps) run in one process, in
alternating blocks, so whatever else the machine does at the time weighs on
both alike; each reports operations per second over all its blocks, and in
each block, so that the two can be compared turn by turn.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.servers.profiling import window

__all__ = ["BLOCKS", "CONCURRENCY", "Op", "block", "emit", "paired", "profiled"]

CONCURRENCY = 8
BLOCKS = 8
WARMUP = 0.3

Op = Callable[[int], Awaitable[object]]


async def block(op: Op, duration: float, concurrency: int = CONCURRENCY) -> tuple[int, float]:
    """Run ``op(n)`` in ``concurrency`` loops for ``duration``; ``(completed, seconds)``."""
    done = 0
    stop = False

    async def loop(worker: int) -> None:
        nonlocal done
        n = worker
        while not stop:
            await op(n)
            done += 1
            n += concurrency

    started = time.perf_counter()
    tasks = [asyncio.create_task(loop(i)) for i in range(concurrency)]
    await asyncio.sleep(duration)
    stop = True
    await asyncio.gather(*tasks)
    return done, time.perf_counter() - started


async def paired(
    sides: dict[str, Op], *, duration: float, blocks: int = BLOCKS
) -> dict[str, dict[str, Any]]:
    """Each side's operations per second over ``blocks`` alternating blocks, and per block.

    ``{"rates": {side: ops/s}, "blocks": {side: [ops/s of each block]}}``;
    block ``i`` of every side belongs to the same turn.
    """
    for op in sides.values():
        await block(op, WARMUP)
    counts = dict.fromkeys(sides, 0)
    seconds = dict.fromkeys(sides, 0.0)
    per_block: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(blocks):
        for name in names if i % 2 == 0 else names[::-1]:
            count, elapsed = await block(sides[name], duration / blocks)
            counts[name] += count
            seconds[name] += elapsed
            per_block[name].append(count / elapsed)
    rates = {name: counts[name] / seconds[name] for name in names}
    return {"rates": rates, "blocks": per_block}


async def profiled(op: Op, *, duration: float, label: str) -> float:
    """One side alone, inside the profile window ``label``."""
    await block(op, WARMUP)
    result = (0, 1.0)
    with window(label, lambda: result[0]):
        result = await block(op, duration)
    return result[0] / result[1]


def emit(data: dict[str, Any]) -> None:
    """The worker's answer: one JSON line on stdout."""
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()
