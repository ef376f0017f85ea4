"""Addresses of other services, followed live through one etcd watch.

:class:`EtcdResolver` is a resolver source for the client's channel pool
(``runtime.client.add_source``). At ``start`` it reads everything under
``KEY_PREFIX`` and then watches the prefix from the revision read, so no
change between the read and the watch is lost, and ``addresses`` answers at
once, without a round trip. When the watch breaks (etcd restarted, the
network dropped) it reads and watches again after a short pause, keeping the
last known addresses meanwhile: a registry outage does not empty a client's
list of replicas that are very likely still there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING

from lbtoolkit.plugins.registry_etcd._etcd import UNREACHABLE, EtcdSession
from lbtoolkit.plugins.registry_etcd._registration import describe

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["EtcdResolver", "address_of"]

_FIRST_RETRY, _LONGEST_RETRY = 0.2, 2.0


def address_of(value: bytes, kind: str = "grpc") -> str | None:
    """``host:port`` of one registry value when it is a server of ``kind``, else None."""
    try:
        entry = json.loads(value)
        if entry.get("kind") != kind:
            return None
        address = entry["address"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return address if isinstance(address, str) and address else None


class EtcdResolver:
    """Where services are, from the registry: gRPC addresses by service name."""

    def __init__(self, key_prefix: str, owner: str, log: logging.Logger) -> None:
        self.name = f"etcd registry {key_prefix}"
        self._key_prefix = key_prefix
        self._owner = owner
        self._log = log
        # Registry key -> (service, gRPC address) of every gRPC entry under the prefix.
        self._entries: dict[str, tuple[str, str]] = {}
        # Services seen in the registry or asked about: for them an empty list
        # means "no live replica" rather than "unknown here".
        self._known: set[str] = set()
        self._listeners: dict[str, list[Callable[[list[str]], None]]] = {}
        self._follower: asyncio.Task[None] | None = None
        self._read = asyncio.Event()

    def addresses(self, service: str) -> list[str] | None:
        """The gRPC addresses of ``service``: ``[]`` for none live, None if never seen."""
        if service not in self._known:
            return None
        return self._addresses(service)

    def subscribe(self, service: str, on_change: Callable[[list[str]], None]) -> None:
        """Call ``on_change(addresses)`` whenever the addresses of ``service`` change."""
        self._known.add(service)
        self._listeners.setdefault(service, []).append(on_change)

    async def wait_read(self, service: str) -> list[str]:
        """The addresses of ``service`` once the registry has been read."""
        await self._read.wait()
        self._known.add(service)
        return self._addresses(service)

    async def start(self, session: EtcdSession) -> None:
        """Read the registry once (raising when etcd cannot be read), then follow it."""
        snapshot = await session.read_prefix(self._key_prefix)
        self._replace(snapshot.values)
        self._follower = asyncio.get_running_loop().create_task(
            self._follow(session, snapshot.revision + 1), name=f"{self._owner} watch"
        )

    async def close(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    def _addresses(self, service: str) -> list[str]:
        return sorted({address for owner, address in self._entries.values() if owner == service})

    async def _follow(self, session: EtcdSession, revision: int | None) -> None:
        delay = _FIRST_RETRY
        while True:
            try:
                if revision is None:
                    snapshot = await session.read_prefix(self._key_prefix)
                    self._replace(snapshot.values)
                    revision = snapshot.revision + 1
                async for event in session.watch_prefix(self._key_prefix, revision):
                    delay = _FIRST_RETRY
                    self._apply(event.key, event.value)
            except UNREACHABLE as error:
                self._log.debug(
                    "%s: registry watch broke (%s); again in %gs",
                    self._owner,
                    describe(error),
                    delay,
                )
                await session.fail_over()
            except Exception:  # noqa: BLE001 - the watch must outlive any one failure
                self._log.exception("%s: registry watch failed", self._owner)
                # A session etcd no longer accepts (say, a token it forgot): start anew.
                await session.fail_over()
            # Whatever broke the watch, what changed meanwhile is read again.
            revision = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LONGEST_RETRY)

    def _service_of(self, key: str) -> str:
        return key[len(self._key_prefix) :].partition("/")[0]

    def _replace(self, values: dict[str, bytes]) -> None:
        before = self._snapshot()
        self._entries = {
            key: (self._service_of(key), address)
            for key, value in values.items()
            if (address := address_of(value)) is not None
        }
        self._read.set()
        self._notify_changes(before)

    def _apply(self, key: str, value: bytes | None) -> None:
        before = self._snapshot()
        address = None if value is None else address_of(value)
        if address is None:
            self._entries.pop(key, None)
        else:
            self._entries[key] = (self._service_of(key), address)
        self._notify_changes(before)

    def _snapshot(self) -> dict[str, list[str]]:
        services = {service for service, _address in self._entries.values()}
        return {service: self._addresses(service) for service in services}

    def _notify_changes(self, before: dict[str, list[str]]) -> None:
        after = self._snapshot()
        self._known.update(after)
        for service in sorted(before.keys() | after.keys()):
            addresses = after.get(service, [])
            if before.get(service, []) == addresses:
                continue
            for listener in tuple(self._listeners.get(service, ())):
                try:
                    listener(list(addresses))
                except Exception:  # noqa: BLE001 - one listener must not starve the others
                    self._log.exception("%s: address listener of %r failed", self._owner, service)
