"""Replicas with the registry plugin, a watcher, and reading the registry back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aetcd  # type: ignore[import-untyped]
from tests.server.grpc.support import GreeterKit
from tests.support.etcd import PrivateEtcd

import lbtoolkit
from lbtoolkit.plugins import registry_etcd

WAIT = 15.0  # seconds a registry change may take to show (a 2s lease expiring included)
PREFIX = "/lbtoolkit/services/"


def replica_environ(etcd: PrivateEtcd, **extra: str) -> dict[str, str]:
    """Variables of a replica: its own ports, a short lease, the private etcd."""
    return {
        "LB_REGISTRY_ENDPOINTS": etcd.endpoint,
        "LB_REGISTRY_LEASE_TTL": "2s",
        "LB_REGISTRY_DIAL_TIMEOUT": "2s",
        **extra,
    }


@dataclass
class Replica:
    """A service with the registry plugin under prefix ``registry``."""

    app: lbtoolkit.Service
    plugin: registry_etcd.Plugin

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.app.server.grpc.port}"


def new_replica(
    kit: GreeterKit,
    etcd: PrivateEtcd,
    *,
    service: str = "users",
    greeting: str = "Hello",
    **extra: str,
) -> Replica:
    """A Greeter replica answering ``{greeting}, {name}!``, so a caller can tell replicas apart."""
    app = kit.new_app(replica_environ(etcd, **extra), name=service, greeting=greeting)
    return Replica(app, add_registry(app))


def add_registry(app: lbtoolkit.Service) -> registry_etcd.Plugin:
    """Declare the plugin as generated code does for ``{prefix: "registry"}``."""
    plugin = registry_etcd.new_plugin(app.runtime, registry_etcd.Options("registry"))
    app.runtime.plugin.provide_value(plugin, provides=registry_etcd.Plugin, name="registry")
    return plugin


async def registry(etcd: PrivateEtcd, service: str) -> dict[str, dict[str, Any]]:
    """The registry entries of ``service`` as etcd holds them: key -> value (lease added)."""
    async with aetcd.Client(host="127.0.0.1", port=etcd.port, timeout=5) as client:
        found = await client.get_prefix(f"{PREFIX}{service}/".encode())
    return {kv.key.decode(): {**json.loads(kv.value), "_lease": kv.lease} for kv in found.kvs}


async def revoke(etcd: PrivateEtcd, lease: int) -> None:
    """Revoke a lease from outside, as an expiry during a partition would end it."""
    async with aetcd.Client(host="127.0.0.1", port=etcd.port, timeout=5) as client:
        await client.revoke_lease(lease)


async def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> None:
    """Check ``condition`` (sync or async) until it holds; fail naming ``what`` at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"after {timeout:g}s still not: {what}"
        await asyncio.sleep(0.05)


class View:
    """What a watcher sees of one service: every list of addresses it was told, in order."""

    def __init__(self, resolver: registry_etcd.EtcdResolver, service: str) -> None:
        self.service = service
        self.history: list[list[str]] = []
        resolver.subscribe(service, self.history.append)
        self._resolver = resolver

    @property
    def now(self) -> set[str]:
        return set(self._resolver.addresses(self.service) or [])

    async def wait_for(self, addresses: set[str], timeout: float = WAIT) -> None:
        await wait_until(
            lambda: self.now == addresses, f"{self.service} at {sorted(addresses)}", timeout
        )
