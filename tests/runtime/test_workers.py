"""``LB_WORKERS=2``: a supervisor and two worker processes serving the same ports.

The service (``apps/workers_service.py``) answers ``Sleep`` with the pid of the
worker that ran it, so the tests see which worker answered each call. Each
test starts its own supervisor on loopback ports the system chooses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import grpc.aio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lbtoolkit.tools._listen import listen_tcp, reserve_shared_port
from tests.server.http.support import compile_protos

pytestmark = pytest.mark.faults

APP = Path(__file__).parent / "apps" / "workers_service.py"
ROOT = Path(__file__).parents[2]
WORKERS = 2
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
SLEEP_PATH = "/httptest.users.Users/Sleep"
SHUTDOWN_BUDGET = "15s"
# Long enough for every call of the SIGTERM test to be running at once.
HANDLER_MILLIS = 5000
# Errors a retrying client may retry: the call never reached a handler. A worker
# being replaced keeps its listener until its server stops, and the kernel still
# hands it new connections (SO_REUSEPORT); a call grpc core accepted on one but
# had not yet handed to the application when that server stopped ends CANCELLED.
# No handler ran it (the drain waits for every running call first), so the
# load's idempotent calls retry it; docs/servers.md (Workers) says so.
RETRYABLE_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
RETRIES = 30
RETRY_PAUSE = 0.05
_PROBES_LINE = re.compile(r"probes server listening on [\d.]+:(\d+)")


@pytest.fixture(scope="module")
def users_pb(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compile_protos(tmp_path_factory.mktemp("protos")).users


@dataclass
class Supervised:
    """The supervisor process, the ports its workers share and what they recorded."""

    process: subprocess.Popen[bytes]
    directory: Path
    grpc_port: int = 0
    http_port: int = 0
    probes_port: int = 0
    seen: set[int] = field(default_factory=set)

    def stderr(self) -> str:
        return (self.directory / "stderr").read_text(errors="replace")

    def events(self) -> list[str]:
        path = self.directory / "events"
        return path.read_text().splitlines() if path.exists() else []

    def ready_pids(self) -> list[int]:
        """Pids of the workers that started, in the order they did."""
        return [int(line.split()[1]) for line in self.events() if line.startswith("ready ")]

    def wait_until(self, what: str, condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                code = self.process.returncode
                output = self.stderr()[-4000:]
                pytest.fail(f"the supervisor exited with {code} waiting for {what}:\n{output}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout:g}s\n{self.stderr()[-4000:]}")
            time.sleep(0.05)

    def wait_workers(self, count: int, timeout: float = START_TIMEOUT) -> list[int]:
        """The pids of the first ``count`` workers to be ready; the ports they listen on."""
        self.wait_until(f"{count} workers ready", lambda: len(self.ready_pids()) >= count, timeout)
        ready = [line.split() for line in self.events() if line.startswith("ready ")]
        self.grpc_port, self.http_port = int(ready[0][2]), int(ready[0][3])
        assert all((int(r[2]), int(r[3])) == (self.grpc_port, self.http_port) for r in ready)
        self.wait_until(
            "the probes port", lambda: _PROBES_LINE.search(self.stderr()) is not None, timeout
        )
        match = _PROBES_LINE.search(self.stderr())
        assert match is not None
        self.probes_port = int(match[1])
        return self.ready_pids()[:count]

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """``/metrics`` of the supervisor: ``{(sample, sorted labels): value}``."""
        text = httpx.get(f"http://127.0.0.1:{self.probes_port}/metrics", timeout=10).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


@contextlib.contextmanager
def supervised(directory: Path, environ: dict[str, str] | None = None) -> Iterator[Supervised]:
    directory.mkdir(parents=True, exist_ok=True)
    variables = {
        "PATH": os.environ["PATH"],
        # Coverage measures the supervisor and its workers through these.
        **{name: value for name, value in os.environ.items() if name.startswith("COVERAGE_")},
        "WORKERS_EVENTS": str(directory / "events"),
        "WORKERS_PROTOS": str(directory / "protos"),
        "LB_WORKERS": str(WORKERS),
        "LB_SHUTDOWN_TIMEOUT": SHUTDOWN_BUDGET,
        "LB_USERS_GRPC_SERVER_LISTEN": "127.0.0.1",
        "LB_USERS_GRPC_SERVER_PORT": "0",
        "LB_USERS_SERVER_LISTEN": "127.0.0.1",
        "LB_USERS_SERVER_PORT": "0",
        "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
        "LB_PROBES_SERVER_PORT": "0",
        **(environ or {}),
    }
    with (directory / "stdout").open("wb") as out, (directory / "stderr").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, str(APP)], env=variables, stdout=out, stderr=err, cwd=ROOT
        )
    service = Supervised(process, directory)
    try:
        yield service
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # Workers stop by themselves once their supervisor is gone; make sure of it.
        for pid in service.ready_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError, FileNotFoundError):
                if "workers_service" in Path(f"/proc/{pid}/cmdline").read_text():
                    os.kill(pid, signal.SIGKILL)


# -- clients -----------------------------------------------------------------------
@dataclass
class Tally:
    """Which worker answered each call, and the calls that failed (with why)."""

    pids: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)

    def refused(self) -> list[str]:
        """Attempts (retried or failed) whose connection was refused."""
        return [e for e in (*self.failures, *self.retried) if "connection refused" in e.lower()]


async def grpc_sleep(port: int, users_pb: Any, millis: int = 0) -> int:
    """One call on a channel of its own: a new connection, which the kernel gives any worker."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            SLEEP_PATH,
            request_serializer=users_pb.SleepRequest.SerializeToString,
            response_deserializer=users_pb.SleepResponse.FromString,
        )
        response = await call(users_pb.SleepRequest(millis=millis), timeout=30)
        return int(response.slept)


async def http_sleep(client: httpx.AsyncClient, port: int, millis: int = 0) -> int:
    response = await client.get(f"http://127.0.0.1:{port}/v1/sleep/{millis}")
    response.raise_for_status()
    return int(response.json()["slept"])


def fresh_connections() -> httpx.AsyncClient:
    """A client that opens a new connection per request (no keep-alive)."""
    return httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), timeout=30)


def retryable(error: BaseException) -> bool:
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code() in RETRYABLE_GRPC
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code == 503  # a draining server's "retry elsewhere"
    return isinstance(error, httpx.TransportError | OSError)


async def with_retries(call: Callable[[], Awaitable[int]], tally: Tally) -> None:
    """``call`` retried at most ``RETRIES`` times when it never reached a handler."""
    for attempt in range(RETRIES + 1):
        try:
            tally.pids[await call()] += 1
        except Exception as error:  # noqa: BLE001 - what is not retried is counted
            if attempt == RETRIES or not retryable(error):
                tally.failures.append(f"{type(error).__name__}: {error}")
                return
            tally.retried.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(RETRY_PAUSE)
        else:
            return


async def load_until(
    stop: asyncio.Event, one_call: Callable[[], Awaitable[int]], tally: Tally, *, retry: bool
) -> None:
    """Calls one after another until ``stop`` is set."""
    while not stop.is_set():
        if retry:
            await with_retries(one_call, tally)
        else:
            try:
                tally.pids[await one_call()] += 1
            except Exception as error:  # noqa: BLE001 - every failure is counted
                tally.failures.append(f"{type(error).__name__}: {error}")


@contextlib.asynccontextmanager
async def steady_load(
    service: Supervised, users_pb: Any, *, retry: bool, streams: int = 4
) -> AsyncIterator[tuple[Tally, Tally]]:
    """``streams`` gRPC and ``streams`` HTTP callers, each on new connections, while inside."""
    grpc_tally, http_tally = Tally(), Tally()
    stop = asyncio.Event()
    async with fresh_connections() as client:
        tasks = [
            asyncio.create_task(
                load_until(
                    stop, lambda: grpc_sleep(service.grpc_port, users_pb), grpc_tally, retry=retry
                )
            )
            for _ in range(streams)
        ] + [
            asyncio.create_task(
                load_until(
                    stop, lambda: http_sleep(client, service.http_port), http_tally, retry=retry
                )
            )
            for _ in range(streams)
        ]
        try:
            yield grpc_tally, http_tally
        finally:
            stop.set()
            await asyncio.gather(*tasks)


async def wait_for(
    what: str, condition: Callable[[], bool], service: Supervised, timeout: float
) -> None:
    """Poll ``condition`` without blocking the loop (the load keeps running)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert service.process.poll() is None, f"supervisor exited:\n{service.stderr()[-4000:]}"
        assert time.monotonic() < deadline, (
            f"{what}: not within {timeout:g}s\n{service.stderr()[-4000:]}"
        )
        await asyncio.sleep(0.05)


def sample(
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (sample_name, sample_labels), value in metrics.items()
        if sample_name == name and set(labels.items()) <= set(sample_labels)
    )


# -- tests -----------------------------------------------------------------------------
async def test_both_workers_answer_and_metrics_sum_them(tmp_path: Path, users_pb: Any) -> None:
    calls = 300
    with supervised(tmp_path) as service:
        workers = await asyncio.to_thread(service.wait_workers, WORKERS)
        grpc_tally, http_tally = Tally(), Tally()
        # Twenty at a time, each on a connection of its own.
        for _ in range(calls // 20):
            answers = await asyncio.gather(
                *(grpc_sleep(service.grpc_port, users_pb) for _ in range(20))
            )
            grpc_tally.pids.update(answers)
        async with fresh_connections() as client:
            for _ in range(calls // 20):
                answers = await asyncio.gather(
                    *(http_sleep(client, service.http_port) for _ in range(20))
                )
                http_tally.pids.update(answers)

        assert set(grpc_tally.pids) == set(workers), grpc_tally.pids
        assert set(http_tally.pids) == set(workers), http_tally.pids
        assert sum(grpc_tally.pids.values()) == sum(http_tally.pids.values()) == calls

        metrics = await asyncio.to_thread(service.metrics)
        grpc_calls = sample(metrics, "users_grpc_requests_total", method=SLEEP_PATH, code="OK")
        http_calls = sample(
            metrics, "users_http_requests_total", route="/v1/sleep/{millis}", code="200"
        )
        assert (grpc_calls, http_calls) == (calls, calls)
        assert sample(metrics, "lbtoolkit_workers_ready") == WORKERS
        assert sample(metrics, "lbtoolkit_lifecycle_state", state="started") == WORKERS
        url = f"http://127.0.0.1:{service.probes_port}/_healthz/readiness"
        readiness = await asyncio.to_thread(httpx.get, url)
        assert (readiness.status_code, readiness.json()) == (
            200,
            {"worker 1": "ok", "worker 2": "ok"},
        )


async def test_a_killed_worker_is_started_again_while_the_other_serves(
    tmp_path: Path, users_pb: Any
) -> None:
    with supervised(tmp_path) as service:
        first, second = await asyncio.to_thread(service.wait_workers, WORKERS)
        async with steady_load(service, users_pb, retry=True) as (grpc_tally, http_tally):
            await wait_for(
                "calls answered",
                lambda: len(grpc_tally.pids) + len(http_tally.pids) > 2,
                service,
                30,
            )
            os.kill(first, signal.SIGKILL)
            await wait_for("a new worker", lambda: len(service.ready_pids()) > WORKERS, service, 30)
            replacement = service.ready_pids()[WORKERS]
            await wait_for(
                "the new worker answering",
                lambda: replacement in grpc_tally.pids and replacement in http_tally.pids,
                service,
                30,
            )

        assert grpc_tally.failures == []
        assert http_tally.failures == []
        assert second in grpc_tally.pids
        assert second in http_tally.pids
        assert replacement not in (first, second)
        assert f"(pid {first}) was killed by SIGKILL; starting it again" in service.stderr()


async def test_sigterm_drains_calls_in_flight_and_exits_0(tmp_path: Path, users_pb: Any) -> None:
    in_flight = 40  # per transport
    with supervised(tmp_path) as service:
        await asyncio.to_thread(service.wait_workers, WORKERS)
        async with fresh_connections() as client:
            grpc_calls = [
                asyncio.create_task(grpc_sleep(service.grpc_port, users_pb, HANDLER_MILLIS))
                for _ in range(in_flight)
            ]
            http_calls = [
                asyncio.create_task(http_sleep(client, service.http_port, HANDLER_MILLIS))
                for _ in range(in_flight)
            ]

            # The in-flight gauges are summed across workers ("livesum").
            deadline = time.monotonic() + 30
            while True:
                metrics = await asyncio.to_thread(service.metrics)
                running = sample(metrics, "users_grpc_requests_in_flight", method=SLEEP_PATH)
                running += sample(metrics, "users_http_requests_in_flight")
                if running == 2 * in_flight:
                    break
                assert time.monotonic() < deadline, f"{running} calls running, not all"
                await asyncio.sleep(0.05)
            service.process.send_signal(signal.SIGTERM)
            grpc_results = await asyncio.gather(*grpc_calls, return_exceptions=True)
            http_results = await asyncio.gather(*http_calls, return_exceptions=True)
        code = await asyncio.to_thread(service.process.wait, STOP_TIMEOUT)

        failed = [r for r in (*grpc_results, *http_results) if isinstance(r, BaseException)]
        assert failed == []
        assert len(set(grpc_results) | set(http_results)) == WORKERS  # both workers drained
        assert code == 0, service.stderr()[-4000:]
        assert "workers stopped" in service.stderr()


async def test_sighup_replaces_workers_one_at_a_time_refusing_nothing(
    tmp_path: Path, users_pb: Any
) -> None:
    with supervised(tmp_path) as service:
        old = set(await asyncio.to_thread(service.wait_workers, WORKERS))
        async with steady_load(service, users_pb, retry=True) as (grpc_tally, http_tally):
            await wait_for(
                "calls answered",
                lambda: len(grpc_tally.pids) + len(http_tally.pids) > 2,
                service,
                30,
            )
            service.process.send_signal(signal.SIGHUP)
            await wait_for(
                "the roll", lambda: "all workers replaced" in service.stderr(), service, 60
            )
            new = set(service.ready_pids()[WORKERS:])
            answered_before = grpc_tally.pids.total() + http_tally.pids.total()
            await wait_for(
                "calls after the roll",
                lambda: grpc_tally.pids.total() + http_tally.pids.total() > answered_before + 20,
                service,
                30,
            )

        # A connection is never refused: the new worker listens before the old one stops.
        # Calls reaching the old one as it drains are turned away as "retry elsewhere"
        # (gRPC UNAVAILABLE, HTTP 503) and the client retries them.
        assert grpc_tally.refused() == []
        assert http_tally.refused() == []
        assert grpc_tally.failures == []
        assert http_tally.failures == []
        assert len(new) == WORKERS
        assert not new & old
        # Both generations answered while the load ran.
        assert old <= set(grpc_tally.pids) | set(http_tally.pids)
        assert new <= set(grpc_tally.pids) | set(http_tally.pids)
        assert service.process.poll() is None


async def test_the_prometheus_plugin_listener_serves_every_worker_once(
    tmp_path: Path, users_pb: Any
) -> None:
    calls = 60
    environ = {
        "WORKERS_PROMETHEUS": "1",
        "LB_PROM_SERVER_ENABLED": "true",
        "LB_PROM_SERVER_LISTEN": "127.0.0.1",
        "LB_PROM_SERVER_PORT": "0",
    }
    listener = re.compile(r"serving the workers' /metrics on 127.0.0.1:(\d+)")
    with supervised(tmp_path, environ) as service:
        workers = await asyncio.to_thread(service.wait_workers, WORKERS)
        await asyncio.to_thread(
            service.wait_until,
            "the plugin's listener",
            lambda: listener.search(service.stderr()) is not None,
            START_TIMEOUT,
        )
        found = listener.search(service.stderr())
        assert found is not None
        pids: Counter[int] = Counter()
        async with fresh_connections() as client:
            for _ in range(calls // 20):
                pids.update(
                    await asyncio.gather(
                        *(http_sleep(client, service.http_port) for _ in range(20))
                    )
                )
        url = f"http://127.0.0.1:{found[1]}/metrics"
        text = (await asyncio.to_thread(httpx.get, url)).text
        metrics = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    assert set(pids) == set(workers)
    # A prometheus-client counter (written by each worker to its file) and a computed one.
    assert sample(metrics, "users_sleeps_total") == calls
    assert sample(metrics, "users_http_requests_total", route="/v1/sleep/{millis}") == calls
    # Only the supervisor bound the plugin's port: the workers asked it to.
    assert service.stderr().count("serving the workers' /metrics") == 1


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    with supervised(tmp_path) as service:
        workers = service.wait_workers(WORKERS)
        service.process.kill()
        service.process.wait(STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while running := [pid for pid in workers if _alive(pid)]:
            assert time.monotonic() < deadline, f"workers {running} outlived their supervisor"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is still a running process (a zombie has exited)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_worker_count_out_of_range_fails_the_start_naming_the_variable(tmp_path: Path) -> None:
    with supervised(tmp_path, {"LB_WORKERS": "65"}) as service:
        code = service.process.wait(START_TIMEOUT)
        assert code == 1
        assert "LB_WORKERS" in service.stderr()
        assert service.ready_pids() == []


@pytest.mark.integration
async def test_migrations_run_once_across_workers(tmp_path: Path) -> None:
    schema = f"lbt_workers_{uuid.uuid4().hex[:12]}"
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    # Each migration logs its own run: applied twice, it would log twice.
    (migrations / "0001_runs.up.sql").write_text(
        "CREATE TABLE migration_runs (version int, at timestamptz DEFAULT now());"
        "INSERT INTO migration_runs (version) VALUES (1);"
    )
    (migrations / "0002_items.up.sql").write_text(
        "CREATE TABLE items (id serial PRIMARY KEY);"
        "INSERT INTO migration_runs (version) VALUES (2);"
    )
    admin = await asyncpg.connect(host="127.0.0.1", user="postgres", database="test")
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        environ = {
            "WORKERS_MIGRATE": "1",
            "LB_PGSQL_DSN": f"postgres://postgres@127.0.0.1:5432/test?search_path={schema}",
            "LB_PGSQL_MIGRATIONS_DIR": str(migrations),
        }
        with supervised(tmp_path / "service", environ) as service:
            workers = await asyncio.to_thread(service.wait_workers, WORKERS)
        # The schema's name is made here, not given: nothing to inject.
        runs = await admin.fetch(f'SELECT version FROM "{schema}".migration_runs ORDER BY version')  # noqa: S608
        version = await admin.fetch(f'SELECT version, dirty FROM "{schema}".schema_migrations')  # noqa: S608
        migrated = [line.split() for line in service.events() if line.startswith("migrated ")]
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()

    assert [r["version"] for r in runs] == [1, 2]
    assert [(r["version"], r["dirty"]) for r in version] == [(2, False)]
    # Both workers ran run_migration(); the advisory lock let one apply both files.
    applied = {int(pid): int(count) for _, pid, count in migrated}
    assert set(applied) == set(workers)
    assert sorted(applied.values()) == [0, 2]


def test_only_sockets_asking_for_it_share_a_port() -> None:
    held = reserve_shared_port("127.0.0.1", 0)
    port = held.getsockname()[1]
    try:
        first = listen_tcp("127.0.0.1", port, reuse_port=True)
        second = listen_tcp("127.0.0.1", port, reuse_port=True)
        first.close()
        second.close()
        # Outside workers nothing may listen on a port another socket holds.
        with pytest.raises(OSError, match="in use"):
            listen_tcp("127.0.0.1", port).close()
    finally:
        held.close()
