"""Replicas of one service on one etcd, seen by a watcher: start, stop, die, etcd restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.plugins.registry_etcd.registry_support import (
    PREFIX,
    Replica,
    View,
    new_replica,
    registry,
    revoke,
    wait_until,
)
from tests.server.grpc.support import GreeterKit
from tests.support.etcd import PrivateEtcd

from lbtoolkit.plugins import registry_etcd
from lbtoolkit.runtime import State
from lbtoolkit.testing import open_service

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


async def test_three_replicas_come_and_go_in_the_watchers_view(
    greeter: GreeterKit, etcd: PrivateEtcd, watcher: registry_etcd.Plugin
) -> None:
    view = View(watcher.resolver, "users")
    assert await watcher.resolver.wait_read("users") == []
    replicas = [new_replica(greeter, etcd, service="users") for _ in range(3)]
    started: list[Replica] = []
    try:
        for replica in replicas:
            await replica.app.start()
            started.append(replica)
            await view.wait_for({r.address for r in started})
        # Graceful stop: the replica leaves the view (deregistered, not expired).
        leaving = started.pop(0)
        await leaving.app.stop()
        await view.wait_for({r.address for r in started})
        assert leaving.address not in view.now
    finally:
        for replica in started:
            await replica.app.stop()
    await view.wait_for(set())
    # Every change was told to the subscriber: 1, 2, 3 replicas, then fewer.
    assert [len(seen) for seen in view.history] == [1, 2, 3, 2, 1, 0]


async def test_a_killed_replica_leaves_the_view_when_its_lease_expires(
    greeter: GreeterKit, etcd: PrivateEtcd, watcher: registry_etcd.Plugin
) -> None:
    view = View(watcher.resolver, "users")
    await watcher.resolver.wait_read("users")
    survivor = new_replica(greeter, etcd, service="users")
    async with open_service(survivor.app):
        await view.wait_for({survivor.address})
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, killed by PID below
            [
                sys.executable,
                "-m",
                "tests.plugins.registry_etcd.replica_process",
                str(greeter.out),
                etcd.endpoint,
                "users",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_until(lambda: len(view.now) == 2, "the process replica registered")
            (killed,) = view.now - {survivor.address}
            os.kill(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait, 30)
            # Nobody deregistered it: the 2s lease runs out and etcd deletes the entry.
            await view.wait_for({survivor.address})
            assert f"{PREFIX}users/grpc/{killed}" not in await registry(etcd, "users")
        finally:
            if process.poll() is None:
                process.kill()
                await asyncio.to_thread(process.wait, 30)


async def test_services_and_watchers_ride_out_an_etcd_restart(
    greeter: GreeterKit, etcd: PrivateEtcd, watcher: registry_etcd.Plugin
) -> None:
    view = View(watcher.resolver, "users")
    await watcher.resolver.wait_read("users")
    first, second = (new_replica(greeter, etcd, service="users") for _ in range(2))
    async with open_service(first.app), open_service(second.app):
        await view.wait_for({first.address, second.address})
        await asyncio.to_thread(etcd.kill)
        await wait_until(lambda: not first.plugin.registered, "the lost registration noticed")
        with pytest.raises(RuntimeError, match="registration not current: etcd unreachable"):
            await first.plugin.health_check()
        # The watcher keeps the last addresses it knew while etcd is away.
        assert view.now == {first.address, second.address}
        await asyncio.to_thread(etcd.start)
        await wait_until(
            lambda: first.plugin.registered and second.plugin.registered, "both registered again"
        )
        await first.plugin.health_check()
        entries = await registry(etcd, "users")
        assert {e["address"] for e in entries.values()} == {first.address, second.address}
        # The watch resumed: a replica started after the restart shows up, and leaves.
        third = new_replica(greeter, etcd, service="users")
        async with open_service(third.app):
            await view.wait_for({first.address, second.address, third.address})
        await view.wait_for({first.address, second.address})
        # No service was restarted for any of this.
        assert first.app.runtime.lifecycle.state is State.STARTED
        assert second.app.runtime.lifecycle.state is State.STARTED


async def test_a_lost_lease_is_granted_anew_and_the_entries_written_again(
    greeter: GreeterKit, etcd: PrivateEtcd, watcher: registry_etcd.Plugin
) -> None:
    view = View(watcher.resolver, "users")
    await watcher.resolver.wait_read("users")
    replica = new_replica(greeter, etcd, service="users")
    async with open_service(replica.app):
        await view.wait_for({replica.address})
        (before,) = (await registry(etcd, "users")).values()
        # As if the lease had expired during a partition: etcd drops the entry.
        await revoke(etcd, before["_lease"])
        await wait_until(lambda: replica.address not in view.now, "the entry dropped")
        await view.wait_for({replica.address})
        (after,) = (await registry(etcd, "users")).values()
        assert after["_lease"] not in (0, before["_lease"])
        assert replica.plugin.registered
