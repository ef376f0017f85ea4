"""SIGTERM with 1,000 calls in flight over gRPC and HTTP: none is lost.

Each call either completes or is refused in a way that tells the client it
never ran (gRPC ``UNAVAILABLE`` with the server's refusal, HTTP 503, a
refused connection, or a connection closed before the request was written
on it), so a client may retry it elsewhere without doing the work twice.
Anything else (a reset after the request was written, ``CANCELLED``, a 500)
is a lost call.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import httpx
import pytest

from lbtoolkit.server.grpc._drain import REFUSAL
from tests.faults.processes import open_service
from tests.server.http.support import compile_protos

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

    from tests.faults.figures import Figures
    from tests.faults.processes import Ports

pytestmark = pytest.mark.faults

CALLS_PER_TRANSPORT = 500
HANDLER_MILLIS = 50
SHUTDOWN_BUDGET = 10.0
SLEEP_PATH = "/httptest.users.Users/Sleep"
COMPLETED = "completed"
REFUSED_UNAVAILABLE = "refused: gRPC UNAVAILABLE"
REFUSED_503 = "refused: HTTP 503"
REFUSED_CONNECTION = "refused: connection refused"
# The server closed the connection before the client wrote the request on it
# (the drain's grace for a connection that sent nothing had run out): the
# server never had the request, and the client knows it was not sent.
REFUSED_UNSENT = "refused: closed before the request was sent"
REFUSALS = {REFUSED_UNAVAILABLE, REFUSED_503, REFUSED_CONNECTION, REFUSED_UNSENT}

Calls = Sequence["asyncio.Future[Any]"]
# When SIGTERM comes: the calls whose first answer it waits for, by transport.
MOMENTS: dict[str, Callable[[Calls, Calls], list[Calls]]] = {
    # While every call is still on its way.
    "at once": lambda _grpc_calls, _http_calls: [],
    # Once gRPC calls run: HTTP connections are open, most requests not sent yet.
    "grpc answering": lambda grpc_calls, _http_calls: [grpc_calls],
    # Once both transports answer: the calls are running or about to.
    "both answering": lambda grpc_calls, http_calls: [grpc_calls, http_calls],
}


@pytest.fixture(scope="module")
def users_pb(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    users: ModuleType = compile_protos(tmp_path_factory.mktemp("protos")).users
    return users


def grpc_outcome(result: object) -> str:
    if isinstance(result, grpc.aio.AioRpcError):
        if result.code() == grpc.StatusCode.UNAVAILABLE and result.details() == REFUSAL:
            return REFUSED_UNAVAILABLE
        # The listener was already closed: the channel never reached the server.
        if result.code() == grpc.StatusCode.UNAVAILABLE and "Connection refused" in (
            result.details() or ""
        ):
            return REFUSED_CONNECTION
        return f"lost: gRPC {result.code().name} {result.details()}"
    if getattr(result, "slept", None) == HANDLER_MILLIS:
        return COMPLETED
    return f"lost: gRPC answer {result!r}"


@dataclass
class HttpCall:
    """One HTTP request of the burst, and when its head was written to its connection."""

    sent: float | None = None

    async def trace(self, event: str, _info: dict[str, Any]) -> None:
        # On a saturated machine the head may be written long after the
        # client took the request in: the send time is the socket's.
        if event == "http11.send_request_headers.complete":
            self.sent = time.monotonic()


def http_outcome(result: object, call: HttpCall) -> str:
    if isinstance(result, httpx.ConnectError):
        return REFUSED_CONNECTION
    if isinstance(result, httpx.TransportError) and call.sent is None:
        return REFUSED_UNSENT
    if isinstance(result, httpx.Response):
        if result.status_code == 503 and result.json()["message"] == REFUSAL:
            return REFUSED_503
        if result.status_code == 200 and result.json() == {"slept": HANDLER_MILLIS}:
            return COMPLETED
        return f"lost: HTTP {result.status_code} {result.text[:80]}"
    return f"lost: HTTP {type(result).__name__} {result}"


async def sigterm_under_load(
    users_pb: ModuleType,
    directory: Path,
    moment: str,
    http_sent: list[float] | None = None,
    **settings: str,
) -> tuple[Counter[str], Counter[str], int, float]:
    """Send the calls, then SIGTERM at ``moment`` (one of ``MOMENTS``).

    Return the outcomes per transport, the exit code and the time from SIGTERM to exit.
    ``http_sent`` receives, for each HTTP request, when its head was written to
    its connection, in seconds after the SIGTERM.
    """
    environ = {"LB_SHUTDOWN_TIMEOUT": f"{SHUTDOWN_BUDGET:g}s", **settings}
    with open_service(directory, environ) as service:
        ports: Ports = await asyncio.to_thread(service.wait_started)
        limits = httpx.Limits(max_connections=CALLS_PER_TRANSPORT)
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{ports.grpc}") as channel,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{ports.http}",
                limits=limits,
            ) as http,
        ):
            sleep = channel.unary_unary(
                SLEEP_PATH,
                request_serializer=users_pb.SleepRequest.SerializeToString,
                response_deserializer=users_pb.SleepResponse.FromString,
            )
            await sleep(users_pb.SleepRequest())  # connected before the burst
            request = users_pb.SleepRequest(millis=HANDLER_MILLIS)
            grpc_calls = [
                asyncio.ensure_future(sleep(request, timeout=60))
                for _ in range(CALLS_PER_TRANSPORT)
            ]
            calls = [HttpCall() for _ in range(CALLS_PER_TRANSPORT)]
            http_calls = [
                asyncio.ensure_future(
                    http.get(
                        f"/v1/sleep/{HANDLER_MILLIS}", timeout=60, extensions={"trace": call.trace}
                    )
                )
                for call in calls
            ]
            for answered in MOMENTS[moment](grpc_calls, http_calls):
                await asyncio.wait(answered, return_when=asyncio.FIRST_COMPLETED)
            service.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            grpc_results: list[Any] = await asyncio.gather(*grpc_calls, return_exceptions=True)
            http_results: list[Any] = await asyncio.gather(*http_calls, return_exceptions=True)
        code = await asyncio.to_thread(service.wait_exit, SHUTDOWN_BUDGET + 5)
        took = time.monotonic() - signalled
        if http_sent is not None:
            http_sent.extend(call.sent - signalled for call in calls if call.sent is not None)
        assert code == 0, service.stderr()
    return (
        Counter(map(grpc_outcome, grpc_results)),
        Counter(map(http_outcome, http_results, calls)),
        code,
        took,
    )


def record(
    figures: Figures,
    grpc_outcomes: Counter[str],
    http_outcomes: Counter[str],
    code: int,
    took: float,
) -> None:
    figures.record_all({f"grpc[{name}]": count for name, count in sorted(grpc_outcomes.items())})
    figures.record_all({f"http[{name}]": count for name, count in sorted(http_outcomes.items())})
    figures.record_all({"exit_code": code, "sigterm_to_exit_s": took})


@pytest.mark.parametrize("moment", list(MOMENTS))
async def test_sigterm_with_1000_calls_in_flight_loses_none(
    users_pb: ModuleType, tmp_path: Path, figures: Figures, moment: str
) -> None:
    grpc_outcomes, http_outcomes, code, took = await sigterm_under_load(users_pb, tmp_path, moment)
    record(figures, grpc_outcomes, http_outcomes, code, took)
    assert set(grpc_outcomes) <= {COMPLETED, REFUSED_UNAVAILABLE, REFUSED_CONNECTION}, grpc_outcomes
    assert grpc_outcomes.total() == http_outcomes.total() == CALLS_PER_TRANSPORT
    assert took < SHUTDOWN_BUDGET
    assert set(http_outcomes) <= {COMPLETED, *REFUSALS}, http_outcomes


async def test_calls_arriving_during_the_drain_delay_all_complete(
    users_pb: ModuleType, tmp_path: Path, figures: Figures
) -> None:
    # A delay long enough for all 1,000 calls to arrive on a lightly loaded machine.
    # On a saturated one the client may hand requests over later than that: those
    # are refused (503), which is right, and told apart by when they were sent.
    delay = 5.0
    http_sent: list[float] = []
    grpc_outcomes, http_outcomes, code, took = await sigterm_under_load(
        users_pb, tmp_path, "at once", http_sent, LB_DRAIN_DELAY=f"{delay:g}s"
    )
    record(figures, grpc_outcomes, http_outcomes, code, took)
    # A request handed over within a second of the delay's end may still be on its way.
    in_time = sum(1 for at in http_sent if at < delay - 1.0)
    figures.record("http_sent_during_the_delay", in_time)
    assert grpc_outcomes == Counter({COMPLETED: CALLS_PER_TRANSPORT})
    assert len(http_sent) == CALLS_PER_TRANSPORT - http_outcomes[REFUSED_UNSENT]
    assert http_outcomes[COMPLETED] >= in_time > 0, (in_time, http_outcomes)
    assert set(http_outcomes) <= {COMPLETED, REFUSED_503, REFUSED_UNSENT}, http_outcomes
    assert took < SHUTDOWN_BUDGET
