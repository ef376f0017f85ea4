"""Calls through the client's channel pool, resolved by the registry: balanced, and unbroken."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import grpc
import pytest
from tests.plugins.registry_etcd.registry_support import Replica, View, new_replica, wait_until
from tests.server.grpc.support import GreeterKit
from tests.support.etcd import PrivateEtcd

from lbtoolkit.client import ChannelPool, ClientCallError
from lbtoolkit.plugins import registry_etcd

pytestmark = pytest.mark.integration

SAY_HELLO = "/lbtest.greeter.Greeter/SayHello"


async def call(pool: ChannelPool, greeter: GreeterKit) -> str:
    """One call to ``users``; the replica that answered, from its greeting."""
    reply: Any = await pool.channel("users").unary_unary(
        SAY_HELLO, greeter.pb2.HelloRequest(name="caller"), greeter.pb2.HelloReply, rpc_timeout=10
    )
    return str(reply.message).partition(",")[0]


async def test_calls_are_spread_over_the_registered_replicas(
    greeter: GreeterKit, etcd: PrivateEtcd, watcher: registry_etcd.Plugin
) -> None:
    view = View(watcher.resolver, "users")
    replicas = [new_replica(greeter, etcd, greeting=f"r{i}") for i in range(3)]
    pool = ChannelPool(environ={})
    pool.add_source(watcher.resolver)
    try:
        for replica in replicas:
            await replica.app.start()
        await view.wait_for({r.address for r in replicas})
        answered = Counter([await call(pool, greeter) for _ in range(300)])
    finally:
        await pool.close()
        for replica in replicas:
            await replica.app.stop()
    assert set(answered) == {"r0", "r1", "r2"}
    # Round robin over three ready replicas: each takes a fair share.
    assert min(answered.values()) >= 50, answered


async def test_a_rolling_restart_fails_no_call(
    greeter: GreeterKit, etcd: PrivateEtcd, watcher: registry_etcd.Plugin
) -> None:
    view = View(watcher.resolver, "users")
    # The drain delay keeps a leaving replica serving while callers move away.
    replicas = [new_replica(greeter, etcd, greeting=f"r{i}", LB_DRAIN_DELAY="1s") for i in range(3)]
    pool = ChannelPool(environ={})
    pool.add_source(watcher.resolver)
    answered: Counter[str] = Counter()
    failures: list[Exception] = []
    done = asyncio.Event()

    async def keep_calling() -> None:
        while not done.is_set():
            try:
                answered[await call(pool, greeter)] += 1
            except (grpc.aio.AioRpcError, ClientCallError) as error:
                failures.append(error)

    running: list[Replica] = []
    try:
        for replica in replicas:
            await replica.app.start()
            running.append(replica)
        await view.wait_for({r.address for r in running})
        caller = asyncio.ensure_future(keep_calling())
        for index in range(3):
            old = running.pop(0)
            await old.app.stop()
            new = new_replica(greeter, etcd, greeting=f"n{index}", LB_DRAIN_DELAY="1s")
            await new.app.start()
            running.append(new)
            await view.wait_for({r.address for r in running})
        # Calls reach the new generation before the caller stops.
        before = sum(answered[f"n{i}"] for i in range(3))
        await wait_until(
            lambda: sum(answered[f"n{i}"] for i in range(3)) >= before + 30 or caller.done(),
            "calls reaching the new replicas",
        )
        assert not caller.done(), caller
        done.set()
        await caller
    finally:
        done.set()
        await pool.close()
        for replica in running:
            await replica.app.stop()
    assert failures == []
    assert {"n0", "n1", "n2"} <= set(answered), answered
