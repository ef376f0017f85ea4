"""Malformed HTTP requests against a running service: 4xx at worst, never 5xx, no traceback.

Every request gets an answer. A server may close a connection without one only
when it cannot tell where the request ends: a head not closed by an empty line
(the server waits for the rest of it, and gives up after its read timeout).
Every other request, however broken, reached the end of its head, so the server
knows it has one to answer: a status (400 at worst), not silence.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.faults.figures import Figures
from tests.faults.processes import open_service
from tests.faults.raw_http import NO_ANSWER, TIMED_OUT, exchange, raw_requests
from tests.support.scale import scaled

pytestmark = pytest.mark.faults

EXAMPLES = scaled(quick=300, full=3000)
ANSWER_TIMEOUT = 5.0
FIRST_SERVER_ERROR = 500
ENVIRON = {
    "LB_LOG_LEVEL": "DEBUG",
    # A truncated body is answered 408 after this; the test must not wait long for it.
    "LB_USERS_SERVER_READ_TIMEOUT": "300ms",
}


def may_go_unanswered(request: bytes) -> bool:
    """Whether the server may close without an answer: the head has no end it can find."""
    return b"\r\n\r\n" not in request and b"\n\n" not in request


def test_an_unterminated_head_is_the_only_request_allowed_no_answer() -> None:
    assert may_go_unanswered(b"GET /v1/users HTTP/1.1\r\nHost: x\r\n")
    assert not may_go_unanswered(b"GET /v1/users HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not may_go_unanswered(b"\x00junk\r\n\r\n{")


def test_malformed_requests_get_no_server_error_and_log_no_traceback(
    tmp_path: Path, figures: Figures
) -> None:
    statuses: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    with open_service(tmp_path, ENVIRON) as service:
        port = service.wait_started().http

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(raw_requests())
        def send(request: bytes) -> None:
            status = exchange(port, request, ANSWER_TIMEOUT)
            statuses[status] += 1
            if not status.isdigit():
                # No answer, or one that is no HTTP answer: allowed only for a head
                # with no end (see the module's docstring).
                assert status in {NO_ANSWER, TIMED_OUT}, (status, request[:600])
                unanswered[status] += 1
                assert may_go_unanswered(request), (status, request[:600])
                return
            assert int(status) < FIRST_SERVER_ERROR, request[:600]

        began = time.monotonic()
        try:
            send()
        finally:
            took = time.monotonic() - began
            service.process.send_signal(signal.SIGTERM)
            code = service.wait_exit(30)
            log = service.stderr()
            lines = log.splitlines()
            figures.record("requests", statuses.total())
            statuses_seen = {f"status[{name}]": n for name, n in sorted(statuses.items())}
            figures.record_all(statuses_seen)
            figures.record("no_answer", unanswered[NO_ANSWER])
            figures.record("timed_out", unanswered[TIMED_OUT])
            figures.record("error_lines", sum(" ERROR " in line for line in lines))
            figures.record("log_lines", len(lines))
            figures.record("run_s", took)
    assert statuses.total() >= EXAMPLES
    assert "Traceback" not in log, log[-4000:]
    assert code == 0, log[-4000:]
