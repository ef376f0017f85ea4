"""One worker of several serving the same ports: its side of the supervisor's channel.

With ``{PREFIX}_WORKERS`` above 1, ``Service.run()`` supervises (see
``_supervisor.py``) and each worker is the same program started again with
:data:`WORKER_VARIABLE` set. A worker runs the whole service, except that its
servers bind with ``SO_REUSEPORT`` and it serves no probes: it reports its
readiness to the supervisor, answers the supervisor's probe requests with its
own checks, and writes its computed metrics where the supervisor reads them.

The channel is a Unix stream socket inherited from the supervisor, carrying
one JSON object per line. Worker to supervisor: ``{"ready": bool}`` whenever
readiness flips, and answers ``{"id": n, ...}``. Supervisor to worker:
``{"id": n, "probe": "liveness" | "readiness"}`` and ``{"id": n, "flush": true}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from lbtoolkit.tools._listen import share_listening_ports
from lbtoolkit.tools._metrics import MetricsSnapshot

if TYPE_CHECKING:
    from lbtoolkit.runtime._runtime import Runtime

__all__ = [
    "CHANNEL_VARIABLE",
    "METRICS_DIRECTORY_VARIABLE",
    "WORKER_VARIABLE",
    "Channel",
    "serve_as_worker",
    "worker_number",
]

log = logging.getLogger("lbtoolkit.workers")

# Set by the supervisor in each worker's environment; outside the service prefix,
# so the check for unread variables never reports them.
WORKER_VARIABLE = "LBTOOLKIT_WORKER"
CHANNEL_VARIABLE = "LBTOOLKIT_WORKER_CHANNEL_FD"
# prometheus-client reads it when first imported: set before the worker starts.
METRICS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

Message = dict[str, Any]


def worker_number() -> int | None:
    """The worker's number (1..N) when this process is a supervised worker, else ``None``."""
    value = os.environ.get(WORKER_VARIABLE, "")
    if not value.isdigit() or not os.environ.get(CHANNEL_VARIABLE, "").isdigit():
        return None
    return int(value)


class Channel:
    """Newline-delimited JSON objects over a stream; both sides use it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> Channel:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        return cls(reader, writer)

    def send(self, message: Message) -> None:
        """Queue ``message``; a closed peer is noticed by the reader, not here."""
        if not self._writer.is_closing():
            self._writer.write(json.dumps(message).encode() + b"\n")

    async def receive(self) -> Message | None:
        """The next message, or ``None`` once the peer closed the channel."""
        try:
            line = await self._reader.readline()
        except (ConnectionError, ValueError):
            return None
        if not line:
            return None
        message: Message = json.loads(line)
        return message

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


async def serve_as_worker(runtime: Runtime, serve: Callable[[], Awaitable[int]]) -> int:
    """Run ``serve`` (the service's whole life) as a worker of the supervisor."""
    share_listening_ports()
    # SIGHUP means "roll the workers" to the supervisor; a worker that got it
    # from its terminal or process group must not die of it.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if runtime.server.probes is not None:
        runtime.server.probes.served_elsewhere = True
    number = worker_number()
    # Programs this worker starts are not workers themselves.
    channel_fd = int(os.environ.pop(CHANNEL_VARIABLE))
    os.environ.pop(WORKER_VARIABLE, None)
    channel = await Channel.open(socket.socket(fileno=channel_fd))
    snapshot = MetricsSnapshot(
        runtime.tools.metrics.registry, os.environ[METRICS_DIRECTORY_VARIABLE], os.getpid()
    )
    runtime.tools.probes.add_readiness_listener(lambda ready: channel.send({"ready": ready}))
    runtime.tools.metrics.delegate_listener = lambda host, port, path: channel.send(
        {"serve_metrics": [host, port, path]}
    )
    answering = asyncio.create_task(_answer(channel, runtime, snapshot, number or 0))
    try:
        return await serve()
    finally:
        answering.cancel()
        # The last counts (requests drained at stop) outlive the process.
        snapshot.write()
        snapshot.close()
        await channel.close()


async def _answer(
    channel: Channel, runtime: Runtime, snapshot: MetricsSnapshot, number: int
) -> None:
    running: set[asyncio.Task[None]] = set()
    while (message := await channel.receive()) is not None:
        task = asyncio.create_task(_reply(channel, runtime, snapshot, message))
        running.add(task)
        task.add_done_callback(running.discard)
    # Without its supervisor nobody would stop or probe this worker: stop as on SIGTERM.
    log.warning("worker %d (pid %d): the supervisor is gone; stopping", number, os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)


async def _reply(
    channel: Channel, runtime: Runtime, snapshot: MetricsSnapshot, message: Message
) -> None:
    answer: Message = {"id": message.get("id")}
    try:
        if "probe" in message:
            answer["report"] = await runtime.tools.probes.run(str(message["probe"]))
        elif message.get("flush"):
            snapshot.write()
            answer["flushed"] = True
    except Exception as error:  # noqa: BLE001 - the supervisor reports it as the worker's answer
        answer["error"] = f"{type(error).__name__}: {error}"
    channel.send(answer)
