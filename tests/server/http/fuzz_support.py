"""Schemathesis against a running service's ``/openapi.json``, over loopback HTTP.

The fuzz blocks (``requests``), so it runs in a worker thread while the test's
event loop serves: ``await asyncio.to_thread(fuzz_served_api, base_url, ...)``.
Every operation gets requests the document allows and requests that break it;
each answer is checked against the document. Failures are collected, one per
operation, generation mode and kind, so one run reports all it finds; each
comes with the curl command that repeats the request and the answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from schemathesis import APIOperation, Case, CheckFunction, Response

__all__ = ["CHECKS", "FuzzRun", "fuzz_served_api"]

# Every answer: no 5xx; status, content type, headers and body as documented.
# A request that breaks the document is refused (4xx); one it allows is not
# refused as malformed (400): the document's rules and the server's agree.
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
_REQUEST_TIMEOUT = 10.0
# schemathesis' default for a valid request: accepted, or refused for what a schema
# does not describe (credentials, a missing resource, a conflict, a rate limit).
_ACCEPTED_VALID: list[str | int] = ["2xx", "3xx", 401, 403, 404, 409, 429]


@dataclass
class FuzzRun:
    """What a fuzz run sent and what it found."""

    requests: int = 0
    per_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    # Operation and mode with nothing to generate (no invalid value of a string path parameter).
    nothing_to_generate: list[str] = field(default_factory=list)

    def report(self) -> str:
        """The failures, each with the request that repeats it and the answer."""
        return "\n\n".join(f"== {key}\n{text}" for key, text in self.failures.items())


def fuzz_served_api(
    base_url: str,
    *,
    examples_per_operation: int,
    refuses_valid: Mapping[str, str] | None = None,
) -> FuzzRun:
    """Fuzz every operation of ``base_url``'s ``/openapi.json``; blocks: run it in a thread.

    ``examples_per_operation`` counts per generation mode (requests the
    document allows, and requests that break it). ``refuses_valid`` names
    operations (``operationId``: why) that may answer ``400`` to a request the
    document allows, for what a schema cannot say, such as an opaque page token.
    """
    # Built here, not discovered: a schemathesis.toml in the working directory must not count.
    # Unsanitized output: a failure shows the request exactly as sent.
    options: dict[str, Any] = {"output": {"sanitization": {"enabled": False}}}
    if refuses_valid:
        options["operations"] = [
            {
                "include-operation-id": operation_id,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*_ACCEPTED_VALID, 400]}
                },
            }
            for operation_id in refuses_valid
        ]
    config = schemathesis.Config.from_dict(options)
    schema = schemathesis.openapi.from_url(
        f"{base_url}/openapi.json", config=config, timeout=_REQUEST_TIMEOUT
    )
    run = FuzzRun()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                # An operation schemathesis cannot read is a fault of the document.
                pytest.fail(f"{base_url}/openapi.json: {result.err()}", pytrace=False)
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz_operation(operation, mode, base_url, session, examples_per_operation, run)
    return run


def _fuzz_operation(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    base_url: str,
    session: requests.Session,
    examples: int,
    run: FuzzRun,
) -> None:
    # derandomize: the same requests on every run, so a failure in CI repeats on a laptop;
    # no database: nothing is kept between runs. No shrinking: failures are collected.
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Case[Any]) -> None:
        response = case.call(base_url=base_url, session=session, timeout=_REQUEST_TIMEOUT)
        run.requests += 1
        run.per_operation[operation.label] += 1
        run.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                if _blank_body_read_as_none(failure, response):
                    continue
                key = f"{operation.label} [{mode.value}] {failure.title}"
                run.failures.setdefault(key, str(group))

    try:
        send()
    except Unsatisfiable:
        run.nothing_to_generate.append(f"{operation.label} [{mode.value}]")


def _blank_body_read_as_none(failure: Exception, response: Response) -> bool:
    """A body of only whitespace, accepted: the server reads it as no body, as grpc-gateway does.

    Such a body is not JSON, but it is answered as no body is; where the
    document requires a body, that answer is a refusal, which the check passes.
    """
    if not isinstance(failure, AcceptedNegativeData):
        return False
    body = response.request.body
    if body is None:
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text != "" and not text.strip()
