"""Resolvers feeding gRPC's round_robin: endpoints, the route table file, dns:///, sources."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from typing import TYPE_CHECKING

import grpc
import pytest

from lbtoolkit.client import ChannelPool, ClientCallError, GrpcChannel
from lbtoolkit.config import ConfigController, ConfigError
from tests.client.support import (
    WHO,
    WRITE,
    Replica,
    Text,
    declare_replica_service,
    spawn_replica,
    start_replica,
    start_replicas,
    stop_replicas,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

CALLS = 3000
BATCH = 30


def make_pool(env: dict[str, str]) -> ChannelPool:
    controller = ConfigController("LB", env)
    pool = ChannelPool.configured(controller, environ=env, tools=None)
    controller.raise_for_issues()
    return pool


def endpoints(replicas: list[str] | list[Replica], service: str = "replica") -> str:
    addresses = [r if isinstance(r, str) else r.address for r in replicas]
    return ",".join(f"{service}={address}" for address in addresses)


@pytest.fixture(autouse=True)
def replica_service() -> None:
    declare_replica_service()


@pytest.fixture
async def replicas() -> AsyncIterator[list[Replica]]:
    started = await start_replicas(3)
    yield started
    await stop_replicas(started)


async def who(pool: ChannelPool, service: str = "replica") -> str:
    reply = await pool.channel(service).unary_unary(WHO, Text(value="x"), Text, rpc_timeout=5)
    return reply.value


async def spread(pool: ChannelPool, batches: int = 10) -> Counter[str]:
    """Who answered batches of concurrent calls (the first ones meet connections still opening)."""
    answers: Counter[str] = Counter()
    for _ in range(batches):
        answers.update(await asyncio.gather(*(who(pool) for _ in range(BATCH))))
    return answers


async def test_calls_spread_evenly_over_every_endpoint(replicas: list[Replica]) -> None:
    pool = make_pool({"LB_RESOLVER_ENDPOINTS": endpoints(replicas)})
    try:
        answers = await spread(pool, CALLS // BATCH)
    finally:
        await pool.close()
    assert sum(answers.values()) == CALLS
    assert sorted(answers) == ["r0", "r1", "r2"]
    for replica in replicas:
        assert replica.total == answers[replica.name]
        assert abs(replica.total - CALLS / 3) <= 0.2 * CALLS / 3, answers


@pytest.mark.parametrize("method", [WHO, WRITE])
async def test_a_replica_killed_mid_run_costs_no_call(replicas: list[Replica], method: str) -> None:
    doomed = spawn_replica("doomed")
    survivors = replicas[:2]
    pool = make_pool(
        {
            "LB_RESOLVER_ENDPOINTS": endpoints([*(r.address for r in survivors), doomed.address]),
            "LB_GRPC_CLIENT_RETRY_MAX_ATTEMPTS": "5",
        }
    )
    channel = pool.channel("replica")
    answers: Counter[str] = Counter()
    failures: Counter[str] = Counter()

    async def call() -> None:
        try:
            reply = await channel.unary_unary(method, Text(value="x"), Text, rpc_timeout=10)
        except grpc.aio.AioRpcError as error:
            failures[error.code().name] += 1
        else:
            answers[reply.value] += 1

    try:
        for batch in range(CALLS // BATCH):
            if batch == CALLS // BATCH // 3:
                doomed.process.send_signal(signal.SIGKILL)
            await asyncio.gather(*(call() for _ in range(BATCH)))
    finally:
        doomed.stop()
        await pool.close()
    # Every call answered: the retry budget (100 tokens) covers the calls
    # that were on the killed replica's connection.
    assert failures == Counter()
    assert sum(answers.values()) == CALLS
    assert answers["doomed"] > 0
    assert sum(r.total for r in survivors) == CALLS - answers["doomed"]
    assert all(r.total > CALLS / 3 for r in survivors)


async def test_the_route_table_file_of_the_go_toolkit(
    replicas: list[Replica], tmp_path: Path
) -> None:
    table = tmp_path / ".lb.resolver"

    def route(address: str) -> dict[str, object]:
        route = {"service": "replica", "address": address}
        return {"route": route, "updated": "2024-01-01T00:00:00Z"}

    routes = {f"hash{i}": route(r.address) for i, r in enumerate(replicas[:2])}
    table.write_text(json.dumps({"updated": "2024-01-01T00:00:00Z", "routes": {"replica": routes}}))
    pool = make_pool({"LB_RESOLVER_FILE": str(table)})
    try:
        answers = await spread(pool)
    finally:
        await pool.close()
    assert set(answers) == {"r0", "r1"}


async def test_go_toolkit_name_of_the_file_variable(
    replicas: list[Replica], tmp_path: Path
) -> None:
    table = tmp_path / "routes.json"
    route = {"route": {"service": "replica", "address": replicas[2].address}}
    table.write_text(json.dumps({"routes": {"replica": {"k": route}}}))
    pool = make_pool({"LB_RESOLVER_FILEPATH": str(table)})
    try:
        assert await who(pool) == "r2"
    finally:
        await pool.close()


async def test_dns_target_with_localhost(replicas: list[Replica]) -> None:
    pool = make_pool({"LB_RESOLVER_ENDPOINTS": f"replica=dns:///localhost:{replicas[0].port}"})
    try:
        assert await who(pool) == "r0"
    finally:
        await pool.close()


async def test_host_names_in_a_list_are_looked_up(replicas: list[Replica]) -> None:
    listed = [f"localhost:{r.port}" for r in replicas]
    pool = make_pool({"LB_RESOLVER_ENDPOINTS": endpoints(listed)})
    try:
        answers = await spread(pool)
        channel = pool.channel("replica")
        assert isinstance(channel, GrpcChannel)
        assert channel.target.startswith("ipv4:127.0.0.1:")
    finally:
        await pool.close()
    assert set(answers) == {"r0", "r1", "r2"}


async def test_an_unknown_service_is_unavailable_naming_it_and_the_resolvers(
    replicas: list[Replica], tmp_path: Path
) -> None:
    table = tmp_path / "routes.json"
    table.write_text("{}")
    pool = make_pool({"LB_RESOLVER_ENDPOINTS": endpoints(replicas), "LB_RESOLVER_FILE": str(table)})
    try:
        with pytest.raises(ClientCallError) as caught:
            await who(pool, "billing")
    finally:
        await pool.close()
    error = caught.value
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    details = error.details() or ""
    assert "'billing'" in details
    assert "LB_RESOLVER_ENDPOINTS" in details
    assert f"LB_RESOLVER_FILE ({table})" in details
    assert "LB_CLIENT_BILLING_TARGET" in details
    assert sum(r.total for r in replicas) == 0


async def test_without_any_resolver_the_service_name_is_the_host() -> None:
    pool = make_pool({})
    assert pool.target("billing") == "billing:9000"
    assert pool.resolvers == []


async def test_the_target_variable_wins_over_the_resolvers(replicas: list[Replica]) -> None:
    pool = make_pool(
        {
            "LB_RESOLVER_ENDPOINTS": endpoints(replicas[:1]),
            "LB_CLIENT_REPLICA_TARGET": replicas[1].address,
        }
    )
    try:
        assert await who(pool) == "r1"
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("replica=127.0.0.1:1,replica127.0.0.1:2", "'replica127.0.0.1:2'"),
        ("replica=127.0.0.1", "'replica=127.0.0.1'"),
        ("replica=127.0.0.1:70000", "'replica=127.0.0.1:70000'"),
        ("replica=::1:9000", "'replica=::1:9000'"),
        ("=127.0.0.1:9000", "'=127.0.0.1:9000'"),
    ],
)
def test_malformed_endpoints_are_a_config_error_naming_the_entry(value: str, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_pool({"LB_RESOLVER_ENDPOINTS": value})
    message = str(caught.value)
    assert "LB_RESOLVER_ENDPOINTS" in message
    assert bad in message


class Registry:
    """A resolver source as a registry plugin would write it."""

    name = "test registry"

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.listeners: dict[str, Callable[[list[str]], None]] = {}

    def addresses(self, service: str) -> list[str] | None:
        return self.table.get(service)

    def subscribe(self, service: str, on_change: Callable[[list[str]], None]) -> None:
        self.listeners[service] = on_change

    def change(self, service: str, addresses: list[str]) -> None:
        self.table[service] = addresses
        self.listeners[service](addresses)


async def test_a_source_added_at_run_time_and_its_changes(replicas: list[Replica]) -> None:
    pool = make_pool({"LB_RESOLVER_ENDPOINTS": endpoints(replicas[:1], "other")})
    registry = Registry({"replica": [replicas[0].address]})
    pool.add_source(registry)
    assert pool.resolvers == ["LB_RESOLVER_ENDPOINTS", "test registry"]
    try:
        assert await who(pool) == "r0"
        assert set(registry.listeners) == {"replica"}
        moved = asyncio.Event()
        channel = pool.channel("replica")
        assert isinstance(channel, GrpcChannel)
        original_retarget = channel.retarget

        def retarget(target: str) -> None:
            original_retarget(target)
            moved.set()

        channel.retarget = retarget  # type: ignore[method-assign]
        registry.change("replica", [replicas[1].address, replicas[2].address])
        await asyncio.wait_for(moved.wait(), 5)
        calls_before = replicas[0].total
        answers = await spread(pool)
        assert set(answers) == {"r1", "r2"}
        assert replicas[0].total == calls_before
        registry.change("replica", [])
        await asyncio.sleep(0)  # the change is handed to the loop as a callback
        with pytest.raises(ClientCallError) as caught:
            await who(pool)
        assert "no live address in test registry" in (caught.value.details() or "")
    finally:
        await pool.close()


async def test_a_source_that_does_not_know_the_service_passes_it_on() -> None:
    replica = await start_replica("solo")
    pool = make_pool({})
    pool.add_source(Registry({}))
    pool.add_source(Registry({"replica": [replica.address]}))
    try:
        assert await who(pool) == "solo"
    finally:
        await pool.close()
        await replica.server.stop(None)
