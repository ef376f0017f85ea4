"""The relay: sends committed outbox rows to the broker, in order per key, once per replica set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate

from lbtoolkit.plugins._messaging import HeaderValue
from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.outbox._sql import (
    CHANNEL,
    DELETE_SENT,
    LOCK_HEADS,
    POSTPONE,
    SELECT_CHAINS,
)

__all__ = ["KEY_HEADER", "MESSAGE_ID_HEADER", "Relay", "RelaySettings"]

MESSAGE_ID_HEADER = "x-lbtoolkit-outbox-id"
"""The header carrying the outbox message id: the same on every send of one message."""
KEY_HEADER = "x-lbtoolkit-outbox-key"
"""The header carrying the message's aggregate key."""

Publish = Callable[[str, bytes, Mapping[str, HeaderValue]], Awaitable[object]]
Connect = Callable[[], Awaitable[Any]]
_RECONNECT_FIRST = 0.2
_RECONNECT_MAX = 5.0


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """The relay's timings (seconds) and batch size."""

    poll_interval: float
    batch_size: int
    retry_backoff: float
    max_retry_backoff: float


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    message_id: str
    key: str
    event: str
    payload: bytes
    headers: dict[str, HeaderValue]


class Relay:
    """One relay loop on a connection of its own, woken by NOTIFY or by the poll interval.

    Each round is one transaction: lock the heads of up to ``batch_size`` keys
    (``FOR UPDATE SKIP LOCKED``, so replicas share the keys out), send each
    key's rows one after another (keys concurrently), delete those the broker
    confirmed, postpone the first that failed with backoff, commit.
    """

    def __init__(
        self,
        *,
        owner: str,
        connect: Connect,
        publish: Publish,
        settings: RelaySettings,
        log: logging.Logger,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self._owner = owner
        self._connect = connect
        self._publish = publish
        self._settings = settings
        self._log = log
        self._secrets = secrets
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self.sent = 0
        """Messages this relay has sent and deleted since it started."""

    def start(self) -> None:
        """Start the loop as a background task."""
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name=f"{self._owner} relay")

    def wake(self) -> None:
        """Look for messages now rather than at the next poll."""
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Let the round in progress finish (up to ``grace`` s), then end the loop."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                # Rows sent but not yet deleted are sent again by the next relay.
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._close_listener()

    async def _run(self) -> None:
        conn: Any = None
        failures = 0
        try:
            while not self._stopping:
                try:
                    if conn is None or conn.is_closed():
                        conn = await self._connect()
                    await self._ensure_listener()
                    self._wake.clear()
                    _, full = await self.round(conn)
                    failures = 0
                except Exception as error:  # noqa: BLE001 - the loop outlives outages
                    failures += 1
                    pause = min(_RECONNECT_FIRST * 2 ** (failures - 1), _RECONNECT_MAX)
                    self._log.warning(
                        "%s: relay round failed: %s; trying again in %.1fs",
                        self._owner,
                        describe(error, self._secrets),
                        pause,
                    )
                    await _close(conn)
                    conn = None
                    await self._pause(pause)
                    continue
                if not full and not self._stopping:
                    await self._pause(self._settings.poll_interval)
        finally:
            await _close(conn)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def round(self, conn: Any) -> tuple[int, bool]:
        """One transaction: send what this relay can own now; return (sent, batch was full)."""
        batch = self._settings.batch_size
        async with conn.transaction():
            heads = await conn.fetch(LOCK_HEADS, batch)
            if not heads:
                return 0, False
            keys = [head["aggregate_key"] for head in heads]
            head_ids = [head["id"] for head in heads]
            rows = [_row(r) for r in await conn.fetch(SELECT_CHAINS, keys, head_ids, batch)]
            chains: dict[str, list[_Row]] = {}
            for row in rows:
                chains.setdefault(row.key, []).append(row)
            results = await asyncio.gather(*(self._send_chain(c) for c in chains.values()))
            sent = [row_id for ids, _ in results for row_id in ids]
            if sent:
                await conn.execute(DELETE_SENT, sent)
            for _, failed in results:
                if failed is not None:
                    row, error = failed
                    settings = self._settings
                    await conn.execute(
                        POSTPONE, row.id, settings.retry_backoff, settings.max_retry_backoff, error
                    )
        self.sent += len(sent)
        return len(sent), len(rows) >= batch

    async def _send_chain(self, chain: list[_Row]) -> tuple[list[int], tuple[_Row, str] | None]:
        """Send ``chain`` in order; stop at the first failure, which is returned."""
        sent: list[int] = []
        for row in chain:
            headers = {**row.headers, MESSAGE_ID_HEADER: row.message_id, KEY_HEADER: row.key}
            # Published inside the writer's trace (its traceparent was stored with the row).
            token = otel_context.attach(propagate.extract(headers))
            try:
                await self._publish(row.event, row.payload, headers)
            except Exception as error:  # noqa: BLE001 - kept in the row and tried again
                text = describe(error, self._secrets)
                self._log.warning(
                    "%s: publishing %r (key %r) failed: %s; it stays in the outbox",
                    self._owner,
                    row.event,
                    row.key,
                    text,
                )
                return sent, (row, text[:1000])
            finally:
                otel_context.detach(token)
            sent.append(row.id)
        return sent, None

    async def _ensure_listener(self) -> None:
        listener = self._listener
        if listener is not None and not listener.is_closed():
            return
        self._listener = None
        try:
            listener = await self._connect()
            await listener.add_listener(CHANNEL, self._notified)
        except Exception as error:  # noqa: BLE001 - polling covers for a missing listener
            self._log.info(
                "%s: no LISTEN connection (%s); polling every %gs",
                self._owner,
                describe(error, self._secrets),
                self._settings.poll_interval,
            )
            await _close(listener)
            return
        self._listener = listener

    def _notified(self, *_args: object) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        await _close(listener)


def _row(record: Any) -> _Row:
    headers = json.loads(record["headers"]) if record["headers"] else {}
    return _Row(
        record["id"],
        record["message_id"],
        record["aggregate_key"],
        record["event"],
        bytes(record["payload"]),
        headers,
    )


async def _close(conn: Any) -> None:
    if conn is not None and not conn.is_closed():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), 2)
