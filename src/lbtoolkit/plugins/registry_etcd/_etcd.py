"""The few etcd v3 calls the registry needs, typed, over aetcd (asyncio, gRPC).

aetcd ships no type information; this module is the one place that touches
it, so everything above it is checked by mypy. A call that cannot reach the
current endpoint moves on to the next one for the following call.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aetcd  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from lbtoolkit.plugins.registry_etcd._config import Endpoint

__all__ = ["UNREACHABLE", "EtcdSession", "KeyEvent", "Snapshot"]

# What aetcd raises when etcd cannot be reached or does not answer in time.
UNREACHABLE: tuple[type[BaseException], ...] = (
    aetcd.ConnectionFailedError,
    aetcd.ConnectionTimeoutError,
    aetcd.WatchTimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The keys under a prefix and the revision they were read at."""

    revision: int
    values: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """One change under a watched prefix: ``value`` is None for a deletion."""

    key: str
    value: bytes | None


class EtcdSession:
    """A connection to one of ``endpoints`` (the first that answers), with failover."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        timeout: float,
        username: str = "",
        password: str = "",
    ) -> None:
        self.endpoints = tuple(endpoints)
        self.timeout = timeout
        self._username = username
        self._password = password
        self._current = 0
        self._client: Any = None

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint in use (or tried next)."""
        return self.endpoints[self._current]

    def _connection(self) -> Any:
        if self._client is None:
            endpoint = self.endpoint
            self._client = aetcd.Client(
                host=endpoint.host,
                port=endpoint.port,
                username=self._username or None,
                password=self._password or None,
                timeout=self.timeout,
                connect_wait_timeout=self.timeout,
            )
        return self._client

    async def fail_over(self) -> None:
        """Drop the connection; the next call goes to the next endpoint."""
        client, self._client = self._client, None
        self._current = (self._current + 1) % len(self.endpoints)
        if client is not None:
            await _close_quietly(client)

    async def connect(self) -> None:
        """Reach an endpoint, trying each once; raise the last endpoint's error."""
        last: BaseException | None = None
        for _ in self.endpoints:
            try:
                await self.revision()
            except UNREACHABLE as error:
                last = error
                await self.fail_over()
            else:
                return
        assert last is not None  # noqa: S101 - at least one endpoint was tried
        raise last

    async def revision(self) -> int:
        """The store's current revision (a cheap call that proves etcd answers)."""
        async with asyncio.timeout(self.timeout):
            # A read of an empty range: the answer's header carries the revision.
            result = await self._connection().get_prefix(b"\0", keys_only=True)
        return int(result.header.revision)

    async def grant(self, ttl: int) -> tuple[int, int]:
        """A new lease of ``ttl`` seconds: ``(lease id, granted ttl)``."""
        async with asyncio.timeout(self.timeout):
            lease = await self._connection().lease(ttl)
        return int(lease.id), int(lease.ttl)

    async def keep_alive(self, lease_id: int) -> int:
        """Renew the lease once; return its remaining TTL (0 or less: the lease is gone)."""
        async with asyncio.timeout(self.timeout):
            reply = await self._connection().refresh_lease(lease_id)
        return -1 if reply is None else int(reply.TTL)

    async def revoke(self, lease_id: int) -> None:
        """Revoke the lease: etcd deletes every key attached to it."""
        async with asyncio.timeout(self.timeout):
            await self._connection().revoke_lease(lease_id)

    async def put(self, key: str, value: bytes, lease_id: int) -> None:
        async with asyncio.timeout(self.timeout):
            await self._connection().put(key.encode(), value, lease=lease_id)

    async def delete(self, key: str) -> None:
        async with asyncio.timeout(self.timeout):
            await self._connection().delete(key.encode())

    async def read_prefix(self, prefix: str) -> Snapshot:
        """Every key under ``prefix`` and the revision of the read."""
        async with asyncio.timeout(self.timeout):
            result = await self._connection().get_prefix(prefix.encode())
        values = {bytes(kv.key).decode(): bytes(kv.value) for kv in result.kvs}
        return Snapshot(int(result.header.revision), values)

    async def watch_prefix(self, prefix: str, start_revision: int) -> AsyncIterator[KeyEvent]:
        """Changes under ``prefix`` from ``start_revision`` on, until the stream breaks."""
        watch = await self._connection().watch_prefix(
            prefix.encode(), start_revision=start_revision
        )
        try:
            async for event in watch:
                key = bytes(event.kv.key).decode()
                deleted = event.kind == aetcd.EventKind.DELETE
                yield KeyEvent(key, None if deleted else bytes(event.kv.value))
        finally:
            await asyncio.shield(_cancel_quietly(watch))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _close_quietly(client)


async def _close_quietly(client: Any) -> None:
    # Closing a connection to a dead endpoint may fail; it is dropped either way.
    with contextlib.suppress(Exception):
        await client.close()


async def _cancel_quietly(watch: Any) -> None:
    # The stream may be gone already.
    with contextlib.suppress(Exception):
        await watch.cancel()
