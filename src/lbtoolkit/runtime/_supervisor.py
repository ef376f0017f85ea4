"""The supervisor of ``{PREFIX}_WORKERS`` worker processes serving the same ports.

Workers are the same program started again (``sys.orig_argv``, with the
interpreter of this process) with ``LBTOOLKIT_WORKER`` set, not children made
by ``multiprocessing``: the service is built by the user's ``main`` code,
which a ``spawn`` child would import under another name and not run, and
which a ``fork`` child would inherit half-started. A worker started again is
exactly the process one would run alone, so its plugins open their own
connections and nothing needs to be pickled.

The supervisor binds nothing but the probes server (liveness, readiness,
``/metrics``). It holds each server port with a socket that does not listen,
so the workers' ``SO_REUSEPORT`` listeners get every connection and port 0 is
resolved once, for all. Readiness is every worker's readiness; ``/metrics``
merges the workers' prometheus-client multiprocess files. A worker that exits
is started again after an exponential backoff; SIGTERM and SIGINT stop every
worker within ``{PREFIX}_SHUTDOWN_TIMEOUT``; SIGHUP replaces the workers one
at a time, each new one ready before the old one stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.runtime._settings import check_environment
from lbtoolkit.runtime._workers import (
    CHANNEL_VARIABLE,
    METRICS_DIRECTORY_VARIABLE,
    WORKER_VARIABLE,
    Channel,
    Message,
)
from lbtoolkit.tools import ListenError, Metrics, Probes
from lbtoolkit.tools._listen import listen_tcp, reserve_shared_port
from lbtoolkit.tools._metrics import forget_process, workers_collector
from lbtoolkit.tools._uvicorn import start_server
from lbtoolkit.tools.probes import healthy
from lbtoolkit.tools.probes._server import ProbesServer

if TYPE_CHECKING:
    import uvicorn
    from prometheus_client.metrics_core import Metric
    from starlette.requests import Request

    from lbtoolkit.runtime._runtime import Runtime
    from lbtoolkit.tools.probes import ProbesEndpoint

__all__ = ["Supervisor"]

log = logging.getLogger("lbtoolkit.workers")

_FIRST_BACKOFF = 0.1
_MAX_BACKOFF = 30.0
# A worker that stayed ready this long crashed for a reason of its own, not in a loop.
_STABLE_AFTER = 10.0
_REQUEST_TIMEOUT = 4.0  # below the probes' default check timeout of 5 s
_FLUSH_TIMEOUT = 2.0
# A worker stops within the shutdown timeout; this is for its process to exit after.
_EXIT_GRACE = 1.0
_DEFAULT_START_TIMEOUT = 60.0


class WorkersError(LbToolkitError):
    """The workers cannot be run as configured (printed by ``run()``, exit code 1)."""


@dataclass(eq=False)
class _Worker:
    """One worker process and its end of the channel."""

    number: int
    process: asyncio.subprocess.Process
    channel: Channel
    exited: asyncio.Future[int]
    ready: bool = False
    ready_since: float | None = None
    retiring: bool = False
    _ids: Iterator[int] = field(default_factory=itertools.count)
    _pending: dict[int, asyncio.Future[Message]] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return not self.exited.done()

    def send_signal(self, signum: signal.Signals) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    async def request(self, message: Message, timeout: float) -> Message:  # noqa: ASYNC109
        request_id = next(self._ids)
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            self.channel.send({"id": request_id, **message})
            async with asyncio.timeout(timeout):
                return await answer
        finally:
            self._pending.pop(request_id, None)

    def abandon_requests(self) -> None:
        """The process exited: its unanswered requests fail now, not at their timeout."""
        for waiting in self._pending.values():
            if not waiting.done():
                waiting.set_exception(
                    ConnectionError(f"worker {self.number} (pid {self.pid}) exited")
                )

    def answered(self, message: Message) -> None:
        waiting = self._pending.get(message.get("id", -1))
        if waiting is not None and not waiting.done():
            waiting.set_result(message)

    def describe_exit(self, code: int) -> str:
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"


@dataclass(eq=False)
class _Slot:
    """Worker number ``number``: the process serving as it now, and its restarts."""

    number: int
    current: _Worker | None = None
    backoff: float = _FIRST_BACKOFF
    restarts: int = 0


@dataclass(frozen=True)
class _Port:
    label: str
    variable: str
    listen: str
    port: int


class Supervisor:
    """Runs ``workers`` copies of the service and answers probes and metrics for them."""

    def __init__(self, runtime: Runtime, workers: int) -> None:
        self._runtime = runtime
        self._slots = [_Slot(number) for number in range(1, workers + 1)]
        self._alive: set[_Worker] = set()
        self._stopping = asyncio.Event()
        self._signal: signal.Signals | None = None
        self._rolling: asyncio.Task[None] | None = None
        self._directory = ""
        self._environment: dict[str, str] = {}
        self._reserved: list[socket.socket] = []
        self._probes = Probes()
        self._probes_server: ProbesServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._metrics = Metrics(runtime.tools.metrics.namespace)
        self._metrics.registry.register(_WorkerMetrics(self))
        self._metrics.registry.register(_SupervisorMetrics(self))
        # The prometheus plugin's listeners the workers asked for: (host, port, path).
        self._metrics_servers: dict[tuple[str, int, str], uvicorn.Server | None] = {}
        settings = runtime.settings
        self._shutdown_timeout = settings.shutdown_timeout.total_seconds()
        start_timeout = getattr(settings, "start_timeout", None)
        self._start_timeout = (
            start_timeout.total_seconds() if start_timeout is not None else _DEFAULT_START_TIMEOUT
        )

    @property
    def name(self) -> str:
        return self._runtime.meta.name

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT; the exit code ``Service.run()`` returns."""
        try:
            return asyncio.run(self._serve())
        except KeyboardInterrupt:
            return 130

    async def _serve(self) -> int:
        self._loop = loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        self._directory = tempfile.mkdtemp(prefix=f"lbtoolkit-{self.name}-metrics-")
        try:
            try:
                self._prepare()
                await self._start_probes()
            except LbToolkitError as error:
                sys.stderr.write(f"{self.name}: {error}\n")
                return 1
            log.info(
                "service %s: supervising %d workers (pid %d)",
                self.name,
                len(self._slots),
                os.getpid(),
            )
            watchers = [asyncio.create_task(self._keep_running(slot)) for slot in self._slots]
            await self._stopping.wait()
            return await self._stop(watchers)
        finally:
            for sock in self._reserved:
                sock.close()
            shutil.rmtree(self._directory, ignore_errors=True)

    # -- preparation -------------------------------------------------------------
    def _prepare(self) -> None:
        runtime = self._runtime
        check_environment(runtime)
        runtime.config.raise_for_issues()
        overrides: dict[str, str] = {}
        ports = list(_server_ports(runtime))
        endpoint = runtime.server.probes
        for port in ports:
            if endpoint is not None and port.port != 0 and endpoint.config.port == port.port:
                variable = runtime.config.variable_name("PROBES_SERVER_PORT")
                msg = (
                    f"{variable}={port.port}: with {len(self._slots)} workers the probes server "
                    f"cannot share the port of the {port.label} ({port.variable}), which every "
                    f"worker listens on\nHint: set {variable} to a port of its own"
                )
                raise WorkersError(msg)
            try:
                sock = reserve_shared_port(port.listen, port.port)
            except OSError as error:
                reason = os.strerror(error.errno).lower() if error.errno else str(error)
                address = f"{port.listen}:{port.port}"
                raise ListenError(port.label, address, port.variable, reason) from error
            self._reserved.append(sock)
            # Port 0 is resolved once here, so that every worker listens on the same port.
            overrides[port.variable] = str(sock.getsockname()[1])
        self._environment = {
            **os.environ,
            **overrides,
            METRICS_DIRECTORY_VARIABLE: self._directory,
        }

    async def _start_probes(self) -> None:
        endpoint: ProbesEndpoint | None = self._runtime.server.probes
        if endpoint is None:
            return
        metrics = self._metrics
        for slot in self._slots:
            self._probes.register_check(
                f"worker {slot.number}", "liveness", _probe(slot, "liveness")
            )
            self._probes.register_check(
                f"worker {slot.number}", "readiness", _probe(slot, "readiness")
            )
        config = endpoint.config
        server = ProbesServer(
            self._probes,
            metrics,
            listen=config.listen,
            port=config.port,
            liveness_path=config.liveness_path,
            readiness_path=config.readiness_path,
        )
        try:
            await server.start()
        except OSError as error:
            reason = os.strerror(error.errno).lower() if error.errno else str(error)
            raise ListenError(
                "probes server",
                f"{config.listen}:{config.port}",
                endpoint.port_variable,
                reason,
            ) from error
        self._probes_server = server

    # -- workers -----------------------------------------------------------------
    async def _spawn(self, number: int) -> _Worker:
        ours, theirs = socket.socketpair()
        command = [sys.executable, *sys.orig_argv[1:]]
        environment = {
            **self._environment,
            WORKER_VARIABLE: str(number),
            CHANNEL_VARIABLE: str(theirs.fileno()),
        }
        try:
            process = await asyncio.create_subprocess_exec(
                *command, env=environment, pass_fds=(theirs.fileno(),)
            )
        finally:
            theirs.close()
        channel = await Channel.open(ours)
        worker = _Worker(number, process, channel, asyncio.get_running_loop().create_future())
        self._alive.add(worker)
        asyncio.create_task(self._listen(worker))  # noqa: RUF006 - ends with the channel
        asyncio.create_task(self._reap(worker))  # noqa: RUF006 - ends with the process
        log.info("worker %d started (pid %d)", number, worker.pid)
        return worker

    async def _listen(self, worker: _Worker) -> None:
        while (message := await worker.channel.receive()) is not None:
            if "ready" in message:
                worker.ready = bool(message["ready"])
                worker.ready_since = time.monotonic() if worker.ready else None
                self._update_readiness()
            elif "serve_metrics" in message:
                host, port, path = message["serve_metrics"]
                await self._serve_metrics(str(host), int(port), str(path))
            else:
                worker.answered(message)

    async def _reap(self, worker: _Worker) -> None:
        code = await worker.process.wait()
        worker.ready = False
        self._alive.discard(worker)
        worker.abandon_requests()
        await worker.channel.close()
        forget_process(self._directory, worker.pid)
        worker.exited.set_result(code)
        self._update_readiness()

    async def _keep_running(self, slot: _Slot) -> None:
        """Start the slot's worker; start it again whenever it exits, until stop."""
        slot.current = await self._spawn(slot.number)
        while not self._stopping.is_set():
            worker = slot.current
            code = await _first(worker.exited, self._stopping)
            if code is None:
                return
            if worker is not slot.current:
                continue  # replaced by a rolling restart, which stopped it
            stable = worker.ready_since is not None
            if stable and time.monotonic() - (worker.ready_since or 0) >= _STABLE_AFTER:
                slot.backoff = _FIRST_BACKOFF
            delay = slot.backoff
            slot.backoff = min(slot.backoff * 2, _MAX_BACKOFF)
            log.warning(
                "worker %d (pid %d) %s; starting it again in %.1fs",
                slot.number,
                worker.pid,
                worker.describe_exit(code),
                delay,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            if self._stopping.is_set():
                return
            slot.restarts += 1
            slot.current = await self._spawn(slot.number)

    def _update_readiness(self) -> None:
        ready = not self._stopping.is_set() and all(
            s.current is not None and s.current.ready for s in self._slots
        )
        if ready != self._probes.started:
            log.info("workers %s", "all ready" if ready else "not all ready")
        self._probes.started = ready

    # -- rolling restart ---------------------------------------------------------
    def _on_sighup(self) -> None:
        if self._stopping.is_set():
            return
        if self._rolling is not None and not self._rolling.done():
            log.warning("received SIGHUP while the workers are being replaced; ignored")
            return
        log.info("received SIGHUP: replacing the workers one at a time")
        self._rolling = asyncio.create_task(self._roll())

    async def _roll(self) -> None:
        for slot in self._slots:
            old = slot.current
            if self._stopping.is_set():
                return
            if old is None or not old.alive:
                continue  # exited: its watcher starts a new one anyway
            new = await self._spawn(slot.number)
            if not await self._until_ready(new):
                if self._stopping.is_set():
                    return
                log.error(
                    "worker %d: the new process (pid %d) did not become ready; "
                    "keeping pid %d and stopping the replacement",
                    slot.number,
                    new.pid,
                    old.pid,
                )
                await self._terminate([new])
                return
            slot.current = new
            old.retiring = True
            log.info("worker %d: pid %d ready, stopping pid %d", slot.number, new.pid, old.pid)
            await self._terminate([old])
        log.info("all workers replaced")

    async def _until_ready(self, worker: _Worker) -> bool:
        deadline = time.monotonic() + self._start_timeout
        while not worker.ready:
            if not worker.alive or self._stopping.is_set() or time.monotonic() > deadline:
                return False
            # Readiness arrives on the channel; a short wait keeps this loop bounded.
            await asyncio.sleep(0.02)
        return True

    # -- stop --------------------------------------------------------------------
    def _on_stop_signal(self, signum: signal.Signals) -> None:
        if self._stopping.is_set():
            if signum == signal.SIGINT:
                log.warning("second interrupt: killing the workers and exiting at once")
                for worker in list(self._alive):
                    worker.send_signal(signal.SIGKILL)
                os._exit(130)
            return
        log.info("received %s: stopping %d workers", signum.name, len(self._alive))
        self._signal = signum
        self._stopping.set()
        self._update_readiness()

    async def _terminate(self, workers: list[_Worker]) -> list[int]:
        """SIGTERM, then wait the shutdown timeout; SIGKILL what still runs. The exit codes."""
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        waiting = [asyncio.shield(w.exited) for w in workers]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=self._shutdown_timeout + _EXIT_GRACE)
            if late:
                stragglers = [w for w in workers if w.alive]
                log.error(
                    "workers still running after the shutdown timeout of %gs, killed: %s",
                    self._shutdown_timeout,
                    ", ".join(f"{w.number} (pid {w.pid})" for w in stragglers),
                )
                for worker in stragglers:
                    worker.send_signal(signal.SIGKILL)
        return [await w.exited for w in workers]

    async def _stop(self, watchers: list[asyncio.Task[None]]) -> int:
        # A rolling restart may be waiting on one worker: every worker stops now, together.
        tasks = [*watchers, *([self._rolling] if self._rolling is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        codes = await self._terminate(list(self._alive))
        if self._probes_server is not None:
            await self._probes_server.stop(_EXIT_GRACE)
        await self._stop_metrics_servers()
        # A worker stopped during its start reports the signal (or dies of it, before
        # its handlers are installed): the stop was asked for.
        clean = {0, 128 + signal.SIGTERM, -signal.SIGTERM}
        failed = [code for code in codes if code not in clean]
        log.info(
            "service %s: workers stopped%s",
            self.name,
            f" ({len(failed)} not cleanly)" if failed else "",
        )
        return 1 if failed else 0

    # -- metrics -----------------------------------------------------------------
    async def _serve_metrics(self, host: str, port: int, path: str) -> None:
        """Open a plugin's metrics listener once, for every worker, with the merged metrics."""
        address = (host, port, path)
        if address in self._metrics_servers:
            return
        self._metrics_servers[address] = None
        registry = self._metrics.registry

        async def scrape(request: Request) -> Response:
            encoder, content_type = choose_encoder(request.headers.get("accept", ""))
            # Collecting waits for the workers' answers: off the event loop.
            body = await asyncio.to_thread(encoder, registry)
            return Response(body, headers={"Content-Type": content_type})

        try:
            sock = listen_tcp(host, port)
            app = Starlette(routes=[Route(path, scrape, methods=["GET"])])
            # Plain HTTP only, as the probes server: no WebSocket implementation to load.
            self._metrics_servers[address] = await start_server(
                app, sock, access_log=False, ws="none"
            )
        except OSError as error:
            # The workers started; their plugin's listener is what is missing.
            log.error("cannot serve %s on %s:%d for the workers: %s", path, host, port, error)  # noqa: TRY400
            return
        log.info("serving the workers' %s on %s:%d", path, host, sock.getsockname()[1])

    async def _stop_metrics_servers(self) -> None:
        for server in self._metrics_servers.values():
            if server is not None:
                server.config.timeout_graceful_shutdown = 1
                await server.shutdown()

    async def flush_workers(self) -> None:
        """Ask every worker to write its computed metrics, so a scrape sees them all."""
        workers = [w for w in self._alive if w.alive]
        await asyncio.gather(
            *(w.request({"flush": True}, _FLUSH_TIMEOUT) for w in workers),
            return_exceptions=True,
        )

    def flush_from_thread(self) -> None:
        loop = self._loop
        if loop is None or _on_a_loop():
            return  # collected on the loop itself: waiting for it would deadlock
        future = asyncio.run_coroutine_threadsafe(self.flush_workers(), loop)
        with contextlib.suppress(Exception):
            future.result(_FLUSH_TIMEOUT + 1)

    def restarts(self) -> int:
        return sum(slot.restarts for slot in self._slots)

    def ready_workers(self) -> int:
        return sum(1 for s in self._slots if s.current is not None and s.current.ready)

    @property
    def directory(self) -> str:
        return self._directory


def _probe(slot: _Slot, kind: str) -> Callable[[], Awaitable[None]]:
    """A check asking the slot's worker to run its own ``kind`` checks."""

    async def check() -> None:
        worker = slot.current
        if worker is None or not worker.alive:
            if kind == "liveness":
                return  # the supervisor is starting it again: nothing a restart would cure
            msg = "not running (being started again)"
            raise RuntimeError(msg)
        answer = await worker.request({"probe": kind}, _REQUEST_TIMEOUT)
        if "error" in answer:
            raise RuntimeError(str(answer["error"]))
        report: dict[str, str] = answer.get("report", {})
        failing = [
            f"{name}: {result}" for name, result in sorted(report.items()) if not healthy(result)
        ]
        if failing:
            raise RuntimeError(f"pid {worker.pid}: " + "; ".join(failing))

    return check


class _WorkerMetrics(Collector):
    """The workers' files, merged; each scrape first asks the workers to write theirs."""

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    def describe(self) -> list[Metric]:
        return []  # names vary with what the workers declare: no registration-time check

    def collect(self) -> Iterator[Metric]:
        self._supervisor.flush_from_thread()
        return iter(workers_collector(self._supervisor.directory).collect())  # type: ignore[no-untyped-call]


class _SupervisorMetrics(Collector):
    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        ready = GaugeMetricFamily(
            "lbtoolkit_workers_ready", "Worker processes that are ready to serve"
        )
        ready.add_metric([], self._supervisor.ready_workers())
        restarts = CounterMetricFamily(
            "lbtoolkit_worker_restarts", "Worker processes started again after they exited"
        )
        restarts.add_metric([], self._supervisor.restarts())
        yield ready
        yield restarts


def _server_ports(runtime: Runtime) -> Iterator[_Port]:
    """The ports the workers listen on: every enabled gRPC and HTTP server's."""
    for server in runtime.server.servers:
        config = getattr(server, "config", None)
        if config is None or getattr(config, "disabled", False):
            continue
        port, listen = getattr(config, "port", None), getattr(config, "listen", None)
        if not isinstance(port, int) or not isinstance(listen, str):
            continue
        variable = getattr(server, "port_variable", None)
        if isinstance(variable, str):  # the gRPC server names its own
            yield _Port(f'grpc server "{server.name}"', variable, listen, port)
        else:
            variable = runtime.config.variable_name("SERVER_PORT", server.name)
            yield _Port(f'HTTP server "{server.name}"', variable, listen, port)


async def _first(exited: asyncio.Future[int], stopping: asyncio.Event) -> int | None:
    """The exit code once the worker exits, ``None`` if stop comes first."""
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((asyncio.shield(exited), stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    return exited.result() if exited.done() and not stopping.is_set() else None


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
