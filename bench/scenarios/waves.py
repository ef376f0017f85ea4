"""Start waves: ready time of 16 independent plugins whose ``pre_start`` takes 100 ms each."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import lbtoolkit
from bench.harness.context import Context
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary

__all__ = ["SCENARIO"]

PLUGINS = 16
HOOK_SECONDS = 0.1
# Ready within 0.25 s: the 100 ms every plugin needs, plus room for the rest of the start.
READY_TARGET_SECONDS = 0.25


class _SlowStart:
    """A plugin whose ``pre_start`` waits 100 ms, as a connect to a slow server might."""

    depends_on: ClassVar[tuple[type, ...]] = ()

    async def pre_start(self) -> None:
        await asyncio.sleep(HOOK_SECONDS)


def _service(chained: bool) -> lbtoolkit.Service:
    """16 slow plugins; ``chained``: each depends on the one before (one after another)."""
    app = lbtoolkit.new_service("waves", env_prefix="WAVES", environ={}, argv=[])
    previous: type | None = None
    for number in range(PLUGINS):
        needs = (previous,) if chained and previous is not None else ()
        plugin_type = type(f"SlowStart{number}", (_SlowStart,), {"depends_on": needs})
        app.runtime.plugin.provide_value(plugin_type(), name=f"slow{number}")
        previous = plugin_type
    return app


async def _ready_seconds(chained: bool) -> float:
    """Seconds from ``start()`` to ready (its return); the service is stopped afterwards."""
    app = _service(chained)
    began = time.perf_counter()
    await app.start()
    elapsed = time.perf_counter() - began
    await app.stop()
    return elapsed


def run(ctx: Context, result: ScenarioResult) -> None:
    concurrent: list[float] = []
    chained: list[float] = []
    for _ in range(max(ctx.repeats, 3)):
        concurrent.append(asyncio.run(_ready_seconds(chained=False)))
        chained.append(asyncio.run(_ready_seconds(chained=True)))
    ctx.log(f"waves: independent {concurrent}, chained {chained}")
    chained_median = Summary.of(chained).median
    row = Row(
        scenario="waves",
        variant=f"ready time of {PLUGINS} x {HOOK_SECONDS * 1e3:.0f} ms plugins, independent",
        baseline=f"the same {PLUGINS} plugins chained by depends_on (one after another)",
        value=Summary.of([t * 1e3 for t in concurrent]),
        baseline_value=Summary.of([t * 1e3 for t in chained]),
        unit="ms",
        higher_is_better=False,
        # Ready within READY_TARGET_SECONDS, as a ratio to the chained start.
        target=round(chained_median / READY_TARGET_SECONDS, 1),
    )
    result.rows.append(row)
    median = row.value.median / 1e3
    verdict = "meets" if median <= READY_TARGET_SECONDS else "misses"
    result.notes.append(
        f"Independent plugins share one wave, so their `pre_start` hooks overlap: ready in "
        f"{median:.3f} s, which {verdict} the target of {READY_TARGET_SECONDS} s (the ratio "
        "target is that time against the chained start measured in the same run)."
    )


SCENARIO = Scenario(
    name="waves",
    title="Start waves",
    description=(
        f"In-process time from `start()` to ready for a service of {PLUGINS} plugins whose "
        f"`pre_start` sleeps {HOOK_SECONDS * 1e3:.0f} ms, none depending on another, so all "
        "start in one wave. Baseline: the same plugins each declaring `depends_on` the one "
        f"before, so they start one after another ({PLUGINS} waves). Target: ready within "
        f"{READY_TARGET_SECONDS} s."
    ),
    run=run,
    budget=30.0,
)
