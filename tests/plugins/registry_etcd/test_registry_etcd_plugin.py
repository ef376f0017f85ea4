"""One service and the registry: what it writes, when it leaves, how a start fails."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import grpc
import pytest
from tests.plugins.registry_etcd.registry_support import (
    PREFIX,
    new_replica,
    registry,
    wait_until,
)
from tests.server.grpc.support import GreeterKit, greeter_spec
from tests.support.etcd import PrivateEtcd
from tests.support.servers import free_port

from lbtoolkit.plugins import registry_etcd
from lbtoolkit.runtime import StartError
from lbtoolkit.spec import ServerKind
from lbtoolkit.testing import open_service

pytestmark = pytest.mark.integration


async def test_each_server_is_registered_under_a_lease_and_removed_at_stop(
    greeter: GreeterKit, etcd: PrivateEtcd
) -> None:
    replica = new_replica(greeter, etcd, service="users")
    async with open_service(replica.app):
        entries = await registry(etcd, "users")
        key = f"{PREFIX}users/grpc/{replica.address}"
        assert list(entries) == [key]
        entry = entries[key]
        assert entry["service"] == "users"
        assert entry["kind"] == "grpc"
        assert entry["address"] == replica.address
        assert entry["port"] == replica.app.server.grpc.port
        assert entry["_lease"] != 0, "the entry must hang on a lease"
        assert replica.plugin.registered
        assert replica.plugin.keys() == (key,)
        await replica.plugin.health_check()
    assert await registry(etcd, "users") == {}
    assert not replica.plugin.registered


async def test_the_entry_is_gone_before_the_servers_drain(
    greeter: GreeterKit, etcd: PrivateEtcd
) -> None:
    """Deregistration comes before the drain: clients move away while calls are answered."""
    replica = new_replica(greeter, etcd, service="orders", LB_DRAIN_DELAY="2s")
    app = replica.app
    async with open_service(app), grpc.aio.insecure_channel(replica.address) as channel:
        stub = greeter.stub(channel)
        await stub.SayHello(greeter.pb2.HelloRequest(name="first"))
        slow = asyncio.ensure_future(
            stub.SayHello(greeter.pb2.HelloRequest(name="slow", delay_ms=3000))
        )
        stopping = asyncio.ensure_future(app.stop())
        await wait_until(lambda: _no_entries(etcd, "orders"), "the entry removed at stop")
        # Still serving (the drain delay): a new call is answered after the entry went.
        late = await stub.SayHello(greeter.pb2.HelloRequest(name="late"))
        assert late.message == "Hello, late!"
        assert not slow.done(), "the entry must go before the in-flight call ends"
        assert (await slow).message == "Hello, slow!"
        await stopping


async def _no_entries(etcd: PrivateEtcd, service: str) -> bool:
    return not await registry(etcd, service)


async def test_unreachable_etcd_fails_the_start_naming_the_endpoint(
    greeter: GreeterKit, etcd: PrivateEtcd
) -> None:
    port = free_port()
    replica = new_replica(greeter, etcd, service="users", LB_REGISTRY_ENDPOINTS=f"127.0.0.1:{port}")
    with pytest.raises(StartError) as failed:
        await replica.app.start()
    text = str(failed.value)
    assert text.startswith(
        'start failed at plugins pre_start: plugin "registry" pre_start: EtcdUnreachableError: '
        f'plugin "registry" (registry_etcd): cannot reach etcd at 127.0.0.1:{port}: '
        "ConnectionFailedError: "
    )
    assert text.endswith(
        f"127.0.0.1:{port}: Failed to connect to remote host: Connection refused. "
        "Hint: check LB_REGISTRY_ENDPOINTS and that etcd is reachable from here"
    )
    assert isinstance(failed.value.__cause__, registry_etcd.EtcdUnreachableError)


async def test_a_wildcard_listen_address_needs_advertise_host(
    greeter: GreeterKit, etcd: PrivateEtcd
) -> None:
    replica = new_replica(
        greeter,
        etcd,
        service="users",
        LB_USERS_GRPC_SERVER_LISTEN="0.0.0.0",  # noqa: S104
    )
    with pytest.raises(StartError) as failed:
        await replica.app.start()
    text = str(failed.value)
    port = replica.app.server.grpc.port
    assert text == (
        'start failed at plugins on_start: plugin "registry" on_start: EtcdRegistrationError: '
        f'plugin "registry" (registry_etcd): cannot register the grpc server (0.0.0.0:{port}): '
        "it listens on 0.0.0.0, which no client can dial. Hint: set LB_REGISTRY_ADVERTISE_HOST "
        "to the address others reach this service at (the pod IP, a DNS name)"
    )
    assert await registry(etcd, "users") == {}
    # Rolled back: nothing listens on the port the server had.
    assert port != 0, "the server had bound a port before the registration failed"
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), 1),
    ):
        pass


async def test_advertise_host_is_what_others_dial(greeter: GreeterKit, etcd: PrivateEtcd) -> None:
    replica = new_replica(
        greeter,
        etcd,
        service="users",
        LB_USERS_GRPC_SERVER_LISTEN="0.0.0.0",  # noqa: S104 - the case under test
        LB_REGISTRY_ADVERTISE_HOST="users-0.example.internal",
    )
    async with open_service(replica.app):
        port = replica.app.server.grpc.port
        entries = await registry(etcd, "users")
    assert [e["address"] for e in entries.values()] == [f"users-0.example.internal:{port}"]


async def test_grpc_and_http_servers_each_get_an_entry(
    greeter: GreeterKit, etcd: PrivateEtcd
) -> None:
    both = dataclasses.replace(
        greeter, spec=greeter_spec(greeter.pb2, (ServerKind.GRPC, ServerKind.HTTP))
    )
    replica = new_replica(
        both, etcd, service="users", LB_USERS_SERVER_LISTEN="127.0.0.1", LB_USERS_SERVER_PORT="0"
    )
    async with open_service(replica.app):
        http_port = replica.app.server.http.port
        entries = await registry(etcd, "users")
        assert {(e["kind"], e["address"]) for e in entries.values()} == {
            ("grpc", replica.address),
            ("http", f"127.0.0.1:{http_port}"),
        }
        assert len({e["_lease"] for e in entries.values()}) == 1, "one lease for the instance"
        # Clients dial gRPC: the resolver offers the gRPC address only.
        assert replica.plugin.resolver.addresses("users") == [replica.address]
    assert await registry(etcd, "users") == {}
