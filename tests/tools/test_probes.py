"""Checks run concurrently within their timeouts; readiness follows the lifecycle flag."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from lbtoolkit.tools.probes import CheckKind, DuplicateCheckError, Probes


async def test_checks_run_concurrently_and_report_by_name() -> None:
    probes = Probes()

    async def slow() -> None:
        await asyncio.sleep(0.2)

    def broken() -> None:
        raise ConnectionError("connection refused")

    probes.register_check("db", "readiness", slow)
    probes.register_check("cache", CheckKind.READINESS, slow)
    probes.register_check("queue", "readiness", broken)
    probes.started = True
    began = time.perf_counter()
    report = await probes.run("readiness")
    assert time.perf_counter() - began < 0.35
    assert report == {"db": "ok", "cache": "ok", "queue": "ConnectionError: connection refused"}


async def test_a_check_past_its_timeout_is_reported_as_timed_out() -> None:
    probes = Probes()
    probes.register_check("db", "liveness", lambda: asyncio.sleep(5), timeout=0.05)
    began = time.perf_counter()
    assert await probes.run("liveness") == {"db": "timed out after 0.05s"}
    assert time.perf_counter() - began < 1


async def test_readiness_reports_the_lifecycle_until_started() -> None:
    probes = Probes()
    probes.register_check("db", "readiness", lambda: None)
    assert await probes.run("readiness") == {"db": "ok", "lifecycle": "not started"}
    probes.started = True
    assert await probes.run("readiness") == {"db": "ok"}
    assert await probes.run("liveness") == {}


async def test_readiness_checks_do_not_count_for_liveness() -> None:
    probes = Probes()
    probes.register_check("db", "readiness", lambda: 1 / 0)
    probes.register_check("deadlock", "liveness", lambda: None)
    assert await probes.run("liveness") == {"deadlock": "ok"}
    assert (await probes.run("readiness"))["db"] == "ZeroDivisionError: division by zero"


def test_duplicate_check_names_the_check() -> None:
    probes = Probes()
    probes.register_check("db", "readiness", lambda: None)
    probes.register_check("db", "liveness", lambda: None)  # another kind: allowed
    with pytest.raises(DuplicateCheckError) as raised:
        probes.register_check("db", "readiness", lambda: None)
    assert str(raised.value) == (
        "a readiness check named 'db' is already registered\n"
        "Hint: give each check a name of its own (a plugin uses its prefix)"
    )


def test_listeners_hear_each_change_once_even_when_one_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    probes = Probes()
    heard: list[bool] = []

    def broken(ready: bool) -> None:
        raise RuntimeError("listener bug")

    probes.add_readiness_listener(broken)
    probes.add_readiness_listener(heard.append)
    with caplog.at_level(logging.ERROR, logger="lbtoolkit.probes"):
        probes.started = True
        probes.started = True
        probes.started = False
    assert heard == [True, False]
    assert sum("readiness listener" in r.getMessage() for r in caplog.records) == 2


async def test_withdrawals_are_awaited_once_and_a_failing_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    probes = Probes()
    ran: list[str] = []

    async def leave_registry() -> None:
        ran.append("registry")

    async def broken() -> None:
        ran.append("broken")
        raise ConnectionError("etcd unreachable")

    probes.add_withdrawal(leave_registry)
    probes.add_withdrawal(broken)
    await probes.withdraw()
    await probes.withdraw()  # a second stop does not leave twice
    assert sorted(ran) == ["broken", "registry"]
    assert "etcd unreachable" in caplog.text
