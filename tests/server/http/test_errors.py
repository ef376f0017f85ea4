"""Errors as HTTP answers: status errors, remote errors, bad requests, body limits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest

from lbtoolkit import errors
from lbtoolkit.server.http import HttpServer
from tests.server.http.support import client, open_server, spec_of
from tests.server.http.users import STATUS_ERRORS, UsersService


async def post_fail(protos: SimpleNamespace, body: Any) -> tuple[int, Any]:
    users = UsersService(protos.users)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with open_server([(spec, users)]) as server, client(server) as http:
        response = await http.post("/v1/fail", json=body)
    return response.status_code, response.json()


def test_every_status_error_is_covered() -> None:
    exported = {
        name
        for name in errors.__all__
        if isinstance(getattr(errors, name), type)
        and issubclass(getattr(errors, name), errors.StatusError)
        and name != "StatusError"
    }
    assert {cls.__name__ for cls in STATUS_ERRORS.values()} == exported
    assert len(exported) == 16


@pytest.mark.parametrize("code", sorted(STATUS_ERRORS))
async def test_status_errors_answer_their_http_status(protos: SimpleNamespace, code: str) -> None:
    error_class = STATUS_ERRORS[code]
    status, body = await post_fail(protos, {"code": code, "message": f"because {code}"})
    expected_status = errors.http_status_of(error_class.code)
    assert status == expected_status
    assert body == {
        "code": error_class.code.value[0],
        "message": f"because {code}",
        "details": [],
        "status": body["status"],
    }
    assert (
        body["status"]
        == {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            429: "Too Many Requests",
            499: "Client Closed Request",
            500: "Internal Server Error",
            501: "Not Implemented",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }[expected_status]
    )


async def test_the_standard_mapping(protos: SimpleNamespace) -> None:
    expected = {"NOT_FOUND": 404, "INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401}
    expected |= {"PERMISSION_DENIED": 403, "ALREADY_EXISTS": 409, "UNAVAILABLE": 503}
    for code, status in expected.items():
        assert (await post_fail(protos, {"code": code}))[0] == status


async def test_status_error_details_are_sent(protos: SimpleNamespace) -> None:
    class WithDetails(UsersService):
        async def fail(self, request: Any, context: Any) -> Any:  # noqa: ARG002
            raise errors.FailedPrecondition("not yet", details={"field": "state"})

    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with (
        open_server([(spec, WithDetails(protos.users))]) as server,
        client(server) as http,
    ):
        response = await http.post("/v1/fail", json={})
    assert response.json() == {
        "code": 9,  # FAILED_PRECONDITION
        "message": "not yet",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "FAILED_PRECONDITION",
                "metadata": {"field": "state"},
            }
        ],
        "status": "Bad Request",
    }


async def test_a_failed_call_to_another_service_keeps_its_code(protos: SimpleNamespace) -> None:
    status, body = await post_fail(protos, {"code": "REMOTE", "message": "no such order"})
    assert (status, body["code"], body["message"]) == (404, 5, "no such order")


async def test_an_abort_without_a_code_is_an_internal_error(protos: SimpleNamespace) -> None:
    status, body = await post_fail(protos, {"code": "ABORT", "message": "stop"})
    assert (status, body["code"], body["message"]) == (500, 13, "internal error")


async def test_an_abort_carrying_a_code_answers_it(protos: SimpleNamespace) -> None:
    class Aborting(UsersService):
        async def fail(self, request: Any, context: Any) -> Any:  # noqa: ARG002
            error = grpc.aio.AbortError()
            error.code = grpc.StatusCode.ALREADY_EXISTS  # type: ignore[attr-defined]
            error.details = "taken"  # type: ignore[attr-defined]
            raise error

    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with open_server([(spec, Aborting(protos.users))]) as server, client(server) as http:
        response = await http.post("/v1/fail", json={})
    body = response.json()
    assert (response.status_code, body["code"], body["message"]) == (409, 6, "taken")


async def test_unexpected_errors_are_logged_not_sent(
    protos: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="lbtoolkit.server.http"):
        status, body = await post_fail(protos, {"code": "CRASH"})
    assert (status, body) == (
        500,
        {"code": 13, "message": "internal error", "details": [], "status": "Internal Server Error"},
    )
    [record] = caplog.records
    assert record.getMessage() == "unhandled error in /httptest.users.Users/Fail"
    assert record.exc_info is not None
    assert "secret detail" in str(record.exc_info[1])


BAD_REQUESTS = {
    "malformed JSON": (
        "POST",
        "/v1/fail",
        b'{"code": ',
        "invalid request body: malformed JSON (Expecting value: line 1 column 10 (char 9))",
    ),
    "body of the wrong type": (
        "POST",
        "/v1/fail",
        b"[1]",
        "invalid request body: expected a JSON object, got an array",
    ),
    "wrong field type in the body": (
        "POST",
        "/v1/projects/p1/users",
        b'{"id": "abc"}',
        'invalid field "id" in the request body: expected an integer, got "abc"',
    ),
    "nested wrong type": (
        "POST",
        "/v1/projects/p1/users",
        b'{"address": {"city": 5}}',
        'invalid field "address.city" in the request body: expected a string, got 5',
    ),
    "unknown enum in the body": (
        "POST",
        "/v1/projects/p1/users",
        b'{"role": "ROLE_OWNER"}',
        (
            'invalid field "role" in the request body: '
            'unknown value "ROLE_OWNER" of enum httptest.users.Role'
        ),
    ),
    "non-numeric int64 path value": (
        "GET",
        "/v1/users/abc",
        b"",
        'invalid field "id" in the URL path: expected an integer, got "abc"',
    ),
    "int64 path value out of range": (
        "GET",
        "/v1/users/99999999999999999999",
        b"",
        'invalid field "id" in the URL path: 99999999999999999999 is out of range for int64',
    ),
    "nested path value": (
        "PATCH",
        "/v1/seven",
        b"{}",
        'invalid field "user.id" in the URL path: expected an integer, got "seven"',
    ),
    "unknown enum in the query": (
        "GET",
        "/v1/users?roles=ROLE_OWNER",
        b"",
        (
            'invalid field "roles" in the query: '
            'unknown value "ROLE_OWNER" of enum httptest.users.Role'
        ),
    ),
    "wrong type in the query": (
        "GET",
        "/v1/users?filter.age.min=old",
        b"",
        'invalid field "filter.age.min" in the query: expected an integer, got "old"',
    ),
    "bad boolean in the query": (
        "GET",
        "/v1/users?includeDeleted=maybe",
        b"",
        'invalid field "includeDeleted" in the query: expected true or false, got "maybe"',
    ),
    "bad timestamp in the query": (
        "GET",
        "/v1/users?since=yesterday",
        b"",
        (
            'invalid field "since" in the query: '
            "Failed to parse timestamp: missing valid timezone offset"
        ),
    ),
    "message in the query": (
        "GET",
        "/v1/users?filter=Oslo",
        b"",
        (
            'invalid field "filter" in the query: '
            "httptest.users.Filter is a message: set its fields one by one (field.subfield=value)"
        ),
    ),
    "repeated value for a single field": (
        "GET",
        "/v1/users?pageSize=1&pageSize=2",
        b"",
        'invalid field "pageSize" in the query: takes one value, got 2',
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
async def test_bad_requests_answer_400_naming_the_field(protos: SimpleNamespace, name: str) -> None:
    method, url, content, message = BAD_REQUESTS[name]
    users = UsersService(protos.users)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with open_server([(spec, users)]) as server, client(server) as http:
        response = await http.request(method, url, content=content)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body == {
        "code": 3,
        "message": message,
        "details": body["details"],
        "status": "Bad Request",
    }
    assert users.received == []
    field = message.split('"')[1] if message.startswith("invalid field") else None
    if field is None:
        assert body["details"] == []
    else:  # the field, as the client spelled it, in a google.rpc.BadRequest
        [bad_request] = body["details"]
        assert bad_request["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        [violation] = bad_request["fieldViolations"]
        assert violation["field"] == field
        assert message.endswith(violation["description"])


async def test_unknown_routes_and_methods(protos: SimpleNamespace) -> None:
    users = UsersService(protos.users)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with open_server([(spec, users)]) as server, client(server) as http:
        missing = await http.get("/v2/nothing")
        wrong = await http.post("/v1/users/1")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 5,  # NOT_FOUND, as grpc-gateway answers a path no route matches
        "message": "no route for GET /v2/nothing",
        "details": [],
        "status": "Not Found",
    }
    assert wrong.status_code == 405
    assert wrong.json()["code"] == 12  # UNIMPLEMENTED, as grpc-gateway
    assert wrong.headers["allow"] == "DELETE, GET, HEAD, PUT"


def limited(protos: SimpleNamespace, limit: int) -> Any:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    environ = {"LB_TEST_SERVER_MAX_BODY_SIZE": str(limit)}
    return open_server([(spec, UsersService(protos.users))], environ=environ)


async def test_a_declared_body_over_the_limit_is_refused(protos: SimpleNamespace) -> None:
    async with limited(protos, 64) as server, client(server) as http:
        small = await http.post("/v1/fail", json={"code": "NOT_FOUND"})
        large = await http.post("/v1/fail", json={"code": "NOT_FOUND", "message": "x" * 100})
    assert small.status_code == 404
    assert large.status_code == 413
    assert large.json() == {
        "code": 8,  # RESOURCE_EXHAUSTED, as gRPC refuses a message over the size limit
        "message": "request body exceeds the limit of 64 bytes",
        "details": [],
        "status": "Request Entity Too Large",
    }


async def test_a_streamed_body_over_the_limit_is_refused(
    protos: SimpleNamespace, http_engine: str
) -> None:
    async def chunks(count: int) -> AsyncIterator[bytes]:
        yield b'{"code": "NOT_FOUND", "message": "'
        for _ in range(count):
            yield b"x" * 16
        yield b'"}'

    server: HttpServer
    async with limited(protos, 64) as server, client(server) as http:
        small = await http.post("/v1/fail", content=chunks(1))
        if http_engine == "granian":
            # granian closes without reading the rest of the body: the reset that
            # follows may reach the client before the 413 (docs/http.md, Engines).
            try:
                large: httpx.Response | None = await http.post("/v1/fail", content=chunks(10))
            except httpx.ReadError:
                large = None
        else:
            large = await http.post("/v1/fail", content=chunks(10))
    assert "content-length" not in small.request.headers
    assert small.status_code == 404
    if http_engine == "granian":
        assert large is None or large.status_code == 413
    else:
        assert large is not None
        assert large.status_code == 413
