"""Logging in to etcd, and moving past a dead endpoint."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from tests.plugins.registry_etcd.registry_support import (
    PREFIX,
    new_replica,
    wait_until,
)
from tests.server.grpc.support import GreeterKit
from tests.support.etcd import PrivateEtcd, enable_auth, etcdctl
from tests.support.servers import free_port

from lbtoolkit.runtime import StartError
from lbtoolkit.testing import open_service

pytestmark = pytest.mark.integration

PASSWORD = secrets.token_hex(8)
WRONG_PASSWORD = secrets.token_hex(8)


async def test_a_dead_first_endpoint_is_passed_over(greeter: GreeterKit, etcd: PrivateEtcd) -> None:
    dead = f"127.0.0.1:{free_port()}"
    replica = new_replica(greeter, etcd, LB_REGISTRY_ENDPOINTS=f"{dead},{etcd.endpoint}")
    async with open_service(replica.app):
        assert replica.plugin.registered
        listed = await asyncio.to_thread(etcdctl, etcd, "get", "--prefix", "--keys-only", PREFIX)
        assert f"{PREFIX}users/grpc/{replica.address}" in listed.split()


async def test_with_authentication_it_logs_in_and_survives_an_etcd_restart(
    greeter: GreeterKit, etcd: PrivateEtcd
) -> None:
    await asyncio.to_thread(enable_auth, etcd, PASSWORD)
    replica = new_replica(greeter, etcd, LB_REGISTRY_USERNAME="root", LB_REGISTRY_PASSWORD=PASSWORD)
    async with open_service(replica.app):
        key = f"{PREFIX}users/grpc/{replica.address}"
        user = f"root:{PASSWORD}"
        listed = await asyncio.to_thread(
            etcdctl, etcd, "get", "--prefix", "--keys-only", PREFIX, user=user
        )
        assert key in listed.split()
        # A restarted etcd forgets its login tokens: the plugin logs in again.
        await asyncio.to_thread(etcd.kill)
        await wait_until(lambda: not replica.plugin.registered, "the lost registration noticed")
        await asyncio.to_thread(etcd.start)
        await wait_until(lambda: replica.plugin.registered, "registered again after the restart")
        # The lease survived the restart or was granted anew: either way it is kept alive.
        listed = await asyncio.to_thread(
            etcdctl, etcd, "get", "--prefix", "--keys-only", PREFIX, user=user
        )
        assert key in listed.split()


async def test_a_wrong_password_fails_the_start_without_showing_it(
    greeter: GreeterKit, etcd: PrivateEtcd
) -> None:
    await asyncio.to_thread(enable_auth, etcd, PASSWORD)
    replica = new_replica(
        greeter, etcd, LB_REGISTRY_USERNAME="root", LB_REGISTRY_PASSWORD=WRONG_PASSWORD
    )
    with pytest.raises(StartError) as failed:
        await replica.app.start()
    text = str(failed.value)
    assert f'plugin "registry" (registry_etcd): cannot reach etcd at {etcd.endpoint}: ' in text
    assert "authentication failed" in text
    assert text.endswith("Hint: check LB_REGISTRY_USERNAME and LB_REGISTRY_PASSWORD")
    assert WRONG_PASSWORD not in text
