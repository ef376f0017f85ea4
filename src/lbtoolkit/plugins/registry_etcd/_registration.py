"""Keeping this service's servers in the registry: one lease, kept alive, re-established.

Every key of the instance hangs on one lease. A keep-alive runs every third
of the TTL; when etcd cannot be reached the registration counts as lost
(readiness says so) and the keep-alive retries every second. Once etcd
answers again, a lease that expired meanwhile (a long partition, an etcd
restart without its data) is granted anew and every key written again; a lease
that survived gets its keys written again too, which costs nothing and covers
keys removed by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lbtoolkit.plugins.registry_etcd._etcd import UNREACHABLE, EtcdSession

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Record", "Registrar"]

_RETRY_DELAY = 1.0


def describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True, slots=True)
class Record:
    """One registry entry: the key, its JSON value and what it stands for (for logs)."""

    key: str
    value: bytes
    label: str


class Registrar:
    """Writes ``records`` under a lease of ``ttl`` seconds and keeps them there."""

    def __init__(self, session: EtcdSession, ttl: int, owner: str, log: logging.Logger) -> None:
        self._session = session
        self._ttl = ttl
        self._owner = owner
        self._log = log
        self.records: tuple[Record, ...] = ()
        self.lease_id: int | None = None
        # Why the registration is not current, or "" while it is.
        self.problem = "not registered yet"
        self._keeper: asyncio.Task[None] | None = None

    @property
    def registered(self) -> bool:
        return self.lease_id is not None and not self.problem

    async def register(self, records: Sequence[Record]) -> None:
        """Grant the lease, write every record, start the keep-alive."""
        self.records = tuple(records)
        await self._write_all()
        self._keeper = asyncio.get_running_loop().create_task(
            self._keep_alive(), name=f"{self._owner} keep-alive"
        )

    async def deregister(self) -> None:
        """Stop the keep-alive and revoke the lease, which deletes every record at once.

        Best effort: when etcd cannot be reached the lease runs out by itself
        within the TTL.
        """
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        lease_id, self.lease_id = self.lease_id, None
        self.problem = "deregistered"
        if lease_id is None:
            return
        try:
            await self._session.revoke(lease_id)
        except UNREACHABLE as error:
            self._log.warning(
                "%s: could not deregister (%s); the entries expire within %ss",
                self._owner,
                describe(error),
                self._ttl,
            )
            return
        self._log.info("%s deregistered %s", self._owner, _labels(self.records))

    async def _write_all(self) -> None:
        lease_id, _granted = await self._session.grant(self._ttl)
        try:
            for record in self.records:
                await self._session.put(record.key, record.value, lease_id)
        except BaseException:
            # No half registration: what was written goes with the lease (or expires with it).
            with contextlib.suppress(Exception):
                await self._session.revoke(lease_id)
            raise
        self.lease_id = lease_id
        self.problem = ""

    async def _keep_alive(self) -> None:
        interval = max(self._ttl / 3, 0.5)
        delay = interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self._renew()
            except Exception as error:  # noqa: BLE001 - the keep-alive must outlive any failure
                # Unreachable, or a session etcd no longer accepts (a restarted
                # etcd forgets auth tokens): a new connection logs in again.
                if not self.problem:
                    self._log.warning(
                        "%s lost etcd at %s (%s); retrying every %gs",
                        self._owner,
                        self._session.endpoint,
                        describe(error),
                        _RETRY_DELAY,
                    )
                cause = "etcd unreachable" if isinstance(error, UNREACHABLE) else "etcd refused"
                self.problem = f"{cause}: {describe(error)}"
                await self._session.fail_over()
                delay = min(_RETRY_DELAY, interval)
            else:
                delay = interval

    async def _renew(self) -> None:
        lost = bool(self.problem)
        remaining = -1 if self.lease_id is None else await self._session.keep_alive(self.lease_id)
        if remaining <= 0:
            await self._write_all()
            self._log.info(
                "%s re-registered %s under a new lease", self._owner, _labels(self.records)
            )
        elif lost:
            assert self.lease_id is not None  # noqa: S101 - remaining > 0 needs a lease
            for record in self.records:
                await self._session.put(record.key, record.value, self.lease_id)
            self.problem = ""
            self._log.info("%s reached etcd again; registration kept", self._owner)


def lease_seconds(ttl: float) -> int:
    """The whole seconds etcd grants for ``ttl``."""
    return max(math.ceil(ttl), 1)


def _labels(records: Sequence[Record]) -> str:
    return ", ".join(record.label for record in records) or "nothing"
