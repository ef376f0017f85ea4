"""Where grpc-gateway users look: error shape, HEAD, unknown fields, URLs, numbers, bad HTTP."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lbtoolkit import errors
from lbtoolkit._di import Injector
from lbtoolkit.server.http import HttpServer
from lbtoolkit.server.http._codec import Codecs
from lbtoolkit.server.http._errors import InvalidValue
from tests.server.http.support import client, open_server, spec_of
from tests.server.http.users import UsersService

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def users_server(protos: SimpleNamespace, **options: Any) -> Any:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    return open_server([(spec, options.pop("users", UsersService(protos.users)))], **options)


async def echo_path(request: Request) -> Response:
    return JSONResponse(request.path_params)


def with_echo(server: HttpServer, injector: Injector) -> None:
    del injector
    server.add_handler("GET", "/echo/{word}", echo_path)
    server.add_handler("GET", "/deep/{path=**}", echo_path)


async def exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes, return all the server answers until it closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), timeout=2):
            answer += chunk
    except TimeoutError:
        pass
    writer.close()
    await writer.wait_closed()
    return answer


def split(answer: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines)
    return status, headers, body


# --- 1. the error shape ------------------------------------------------------------


async def test_status_error_details_are_any_messages_error_info_first(
    protos: SimpleNamespace,
) -> None:
    violation = error_details_pb2.BadRequest.FieldViolation(
        field="user.email", description="must contain @"
    )

    class Validating(UsersService):
        async def fail(self, request: Any, context: Any) -> Any:  # noqa: ARG002
            raise errors.InvalidArgument(
                "bad user",
                details={"tenant": "t1"},
                detail_messages=[error_details_pb2.BadRequest(field_violations=[violation])],
            )

    implementation = Validating(protos.users)
    async with users_server(protos, users=implementation) as server, client(server) as http:
        response = await http.post("/v1/fail", json={})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "code": 3,
        "message": "bad user",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "INVALID_ARGUMENT",
                "metadata": {"tenant": "t1"},
            },
            {
                "@type": BAD_REQUEST,
                "fieldViolations": [{"field": "user.email", "description": "must contain @"}],
            },
        ],
        "status": "Bad Request",
    }


async def test_a_transcoding_error_names_the_field_in_a_bad_request(
    protos: SimpleNamespace,
) -> None:
    async with users_server(protos) as server, client(server) as http:
        response = await http.get("/v1/users?filter.age.min=old")
    assert response.json() == {
        "code": 3,
        "message": 'invalid field "filter.age.min" in the query: expected an integer, got "old"',
        "details": [
            {
                "@type": BAD_REQUEST,
                "fieldViolations": [
                    {"field": "filter.age.min", "description": 'expected an integer, got "old"'}
                ],
            }
        ],
        "status": "Bad Request",
    }


async def test_a_failed_call_passes_on_the_details_of_the_remote_status(
    protos: SimpleNamespace,
) -> None:
    from google.protobuf.any_pb2 import Any as AnyMessage  # noqa: PLC0415
    from google.rpc import status_pb2  # noqa: PLC0415

    info = AnyMessage()
    info.Pack(error_details_pb2.ErrorInfo(reason="GONE", domain="orders"))
    foreign = AnyMessage(type_url="type.googleapis.com/elsewhere.Unknown", value=b"\x08\x01")
    rich = status_pb2.Status(code=5, message="no such order", details=[info, foreign])

    class Calling(UsersService):
        async def fail(self, request: Any, context: Any) -> Any:  # noqa: ARG002
            trailers = grpc.aio.Metadata(("grpc-status-details-bin", rich.SerializeToString()))
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), trailers, details="no such order"
            )

    implementation = Calling(protos.users)
    async with users_server(protos, users=implementation) as server, client(server) as http:
        response = await http.post("/v1/fail", json={})
    assert response.status_code == 404
    assert response.json() == {
        "code": 5,
        "message": "no such order",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "GONE",
                "domain": "orders",
            },
            {"@type": "type.googleapis.com/elsewhere.Unknown", "value": "CAE="},
        ],
        "status": "Not Found",
    }


# --- 2. HEAD and OPTIONS -----------------------------------------------------------


async def test_head_answers_as_get_without_the_body(protos: SimpleNamespace) -> None:
    users = UsersService(protos.users)
    async with users_server(protos, users=users) as server:
        async with client(server) as http:
            got = await http.get("/v1/users/7")
            head = await http.head("/v1/users/7")
            missing = await http.head("/v2/nothing")
            post_only = await http.head("/v1/fail")
        # On one connection: a body after the HEAD answer would be read as the next answer.
        request = b"HEAD /v1/users/7 HTTP/1.1\r\nhost: x\r\n\r\nGET /v1/users/7 HTTP/1.1\r\n"
        raw = await exchange(server.port, request + b"host: x\r\nconnection: close\r\n\r\n")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] != "0"
    assert head.headers["content-type"] == got.headers["content-type"]
    assert [name for name, _, _ in users.received] == ["GetUser", "GetUser", "GetUser", "GetUser"]
    assert (missing.status_code, missing.content) == (404, b"")
    assert post_only.status_code == 405
    assert post_only.headers["allow"] == "PATCH, POST"  # PATCH /v1/{user.id} matches too
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK")
    assert rest.startswith(b"HTTP/1.1 200 OK")
    assert rest.endswith(got.content)


CORS = {
    "LB_TEST_SERVER_CORS_ENABLED": "true",
    "LB_TEST_SERVER_CORS_ALLOWED_ORIGINS": "https://app.example.com",
}


async def test_options_is_answered_by_cors_and_a_refusal_is_a_json_error(
    protos: SimpleNamespace,
) -> None:
    preflight = {"access-control-request-method": "GET"}
    async with users_server(protos, environ=CORS) as server, client(server) as http:
        allowed = await http.options(
            "/v1/users/1", headers={**preflight, "origin": "https://app.example.com"}
        )
        refused = await http.options(
            "/v1/users/1", headers={**preflight, "origin": "https://evil.example.com"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {
        "code": 3,
        "message": "CORS preflight refused: origin not allowed",
        "details": [],
        "status": "Bad Request",
    }


# --- 3. unknown fields -------------------------------------------------------------


async def test_unknown_body_fields_are_ignored_by_default(protos: SimpleNamespace) -> None:
    users = UsersService(protos.users)
    async with users_server(protos, users=users) as server, client(server) as http:
        response = await http.post(
            "/v1/projects/p1/users", json={"id": "3", "nickname": "x", "extra": {"a": [1]}}
        )
    assert response.status_code == 200, response.text
    [(_, request, _)] = users.received
    assert request.user.id == 3


async def test_strict_json_refuses_unknown_body_fields(protos: SimpleNamespace) -> None:
    users = UsersService(protos.users)
    environ = {"LB_TEST_SERVER_STRICT_JSON": "true"}
    strict = users_server(protos, users=users, environ=environ)
    async with strict as server, client(server) as http:
        response = await http.post(
            "/v1/projects/p1/users", json={"id": "3", "address": {"town": "Oslo"}}
        )
        query = await http.get("/v1/users?nickname=x")
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == (
        'invalid field "address.town" in the request body: no such field in httptest.users.Address'
    )
    assert body["details"][0]["fieldViolations"][0]["field"] == "address.town"
    assert query.status_code == 200  # query parameters that name no field stay ignored
    assert [name for name, _, _ in users.received] == ["ListUsers"]


# --- 4. percent-escapes and UTF-8 --------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (b"/echo/%zz", 'invalid percent-escape "%zz" in the URL path'),
        (b"/echo/abc%4", 'invalid percent-escape "%4" in the URL path'),
        (b"/echo/caf%e9", "the URL path is not valid UTF-8 once percent-decoded"),
        (b"/v1/users?pageToken=%zz", 'invalid percent-escape "%zz" in the query'),
        (b"/v1/users?pageToken=%ff", "the query is not valid UTF-8 once percent-decoded"),
    ],
)
async def test_bad_escapes_and_bad_utf8_answer_400(
    protos: SimpleNamespace, target: bytes, message: str
) -> None:
    users = UsersService(protos.users)
    async with users_server(protos, users=users, setup=with_echo) as server:
        raw = await exchange(
            server.port, b"GET " + target + b" HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
    status, headers, body = split(raw)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body) == {
        "code": 3,
        "message": message,
        "details": [],
        "status": "Bad Request",
    }
    assert users.received == []


async def test_valid_escapes_and_utf8_are_decoded(protos: SimpleNamespace) -> None:
    users = UsersService(protos.users)
    echoing = users_server(protos, users=users, setup=with_echo)
    async with echoing as server, client(server) as http:
        escaped = await http.get("/echo/caf%C3%A9")
        slash = await http.get("/echo/a%2Fb")
        deep = await http.get("/deep/a%2Fb/c")
        query = await http.get("/v1/users", params={"pageToken": "ø/+ x"})
    assert escaped.json() == {"word": "café"}
    # One segment: fully decoded; several: %2F kept, as google/api/http.proto says.
    assert slash.json() == {"word": "a/b"}
    assert deep.json() == {"path": "a%2Fb/c"}
    assert query.json()["nextPageToken"].startswith("ø/+ x|")


# --- 5. numbers and enums ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1000, 1000),
        ("12", 12),
        ("-12", -12),
        (1.0, 1),
        (1e3, 1000),
        ("1e3", 1000),
        ("1.0", 1),
        ("1.50e1", 15),
        ("100e-2", 1),
        ("-0", 0),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775807.000e0", 2**63 - 1),
    ],
)
def test_body_integers_are_read_as_protojson_reads_them(
    protos: SimpleNamespace, value: Any, expected: int
) -> None:
    loaded: Any = Codecs().of_class(protos.shapes.Scalars).load({"i64": value})
    assert loaded.i64 == expected


@pytest.mark.parametrize(
    "value", [1.5, "1.5", "1e-1", "1_000", " 1", "1 ", "+1", "01", "0x10", "١٢", "1e20", "", "e3"]
)
def test_body_integers_protojson_refuses_are_refused(protos: SimpleNamespace, value: Any) -> None:
    with pytest.raises(InvalidValue) as raised:
        Codecs().of_class(protos.shapes.Scalars).load({"i64": value})
    assert raised.value.field == "i64"


def test_map_keys_are_decimal_only(protos: SimpleNamespace) -> None:
    codec = Codecs().of_class(protos.shapes.Maps)
    loaded: Any = codec.load({"counts": {"-3": "4", "+5": 1}})
    assert dict(loaded.counts) == {-3: 4, 5: 1}
    with pytest.raises(InvalidValue) as raised:
        codec.load({"counts": {"1e3": 1}})
    assert raised.value.field == "counts[1e3]"


async def test_url_integers_are_decimal_and_enum_numbers_must_be_defined(
    protos: SimpleNamespace,
) -> None:
    users = UsersService(protos.users)
    async with users_server(protos, users=users) as server, client(server) as http:
        answers = {
            url: await http.get(url)
            for url in (
                "/v1/users?pageSize=10",
                "/v1/users?pageSize=%2B10",
                "/v1/users?pageSize=1e3",
                "/v1/users?pageSize=1.0",
                "/v1/users/1e3",
                "/v1/users?ids=9223372036854775807",
                "/v1/users?roles=1",
                "/v1/users?roles=ROLE_MEMBER",
                "/v1/users?roles=7",
            )
        }
        body_enum = await http.post("/v1/projects/p1/users", json={"id": 1, "role": 7})
    status = {url: answer.status_code for url, answer in answers.items()}
    assert status == {
        "/v1/users?pageSize=10": 200,
        "/v1/users?pageSize=%2B10": 200,
        "/v1/users?pageSize=1e3": 400,
        "/v1/users?pageSize=1.0": 400,
        "/v1/users/1e3": 400,
        "/v1/users?ids=9223372036854775807": 200,
        "/v1/users?roles=1": 200,
        "/v1/users?roles=ROLE_MEMBER": 200,
        "/v1/users?roles=7": 400,
    }
    assert answers["/v1/users?roles=7"].json()["message"] == (
        'invalid field "roles" in the query: unknown value "7" of enum httptest.users.Role'
    )
    assert answers["/v1/users?pageSize=%2B10"].json()["total"] == 10
    # In a body, as protojson and gRPC do, an open enum keeps a number it does not name.
    assert body_enum.status_code == 200
    assert body_enum.json()["role"] == 7


# --- 6. requests uvicorn refuses itself --------------------------------------------


# What granian answers instead (docs/http.md, Engines): its own status with an
# empty body, the routes' answer for what its parser lets through, or nothing.
_GRANIAN_REFUSES = b"HTTP/1.1 400 Bad Request"
_GRANIAN_TOO_LONG = b"HTTP/1.1 414 URI Too Long"
_ROUTED_405 = b"HTTP/1.1 405 Method Not Allowed"  # a method token it does not know
_ROUTED_404 = b"HTTP/1.1 404 Not Found"  # UTF-8 in the path: no route here has it
_NO_ANSWER = b""


@pytest.mark.parametrize(
    ("request_bytes", "on_granian"),
    [
        (b"BREW /v1/users/1 HTTP/1.1\r\nhost: x\r\n\r\n", _ROUTED_405),
        (b"GET /v1/users/1 HTTP/9.9\r\nhost: x\r\n\r\n", _GRANIAN_REFUSES),
        (b"GET /v1/users/1 HTTP/1.1\r\nbad header\r\n\r\n", _GRANIAN_REFUSES),
        # a TLS hello on the plain port
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", _GRANIAN_REFUSES),
        # Bytes outside ASCII in the request line, even UTF-8: escape them (%C3%A9).
        ("GET /echo/café HTTP/1.1\r\nhost: x\r\n\r\n".encode(), _ROUTED_404),
        (b"GET /v1/users?page\xffToken=a HTTP/1.1\r\nhost: x\r\n\r\n", _GRANIAN_REFUSES),
        (
            b"GET /v1/users?pageToken=" + b"a" * 70_000 + b" HTTP/1.1\r\nhost: x\r\n\r\n",
            _GRANIAN_TOO_LONG,
        ),
        # HTTP/2 with prior knowledge
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", _NO_ANSWER),
    ],
)
async def test_requests_the_parser_refuses_get_the_json_error(
    protos: SimpleNamespace, request_bytes: bytes, on_granian: bytes, http_engine: str
) -> None:
    users = UsersService(protos.users)
    async with users_server(protos, users=users) as server:
        raw = await exchange(server.port, request_bytes)
        async with client(server) as http:
            still_serving = await http.get("/v1/users/1")
    assert still_serving.status_code == 200
    if http_engine == "granian":
        assert_granian_answer(raw, on_granian)
        return
    status, headers, body = split(raw)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"connection"] == b"close"
    assert int(headers[b"content-length"]) == len(body)
    assert json.loads(body) == {
        "code": 3,
        "message": "invalid HTTP request",
        "details": [],
        "status": "Bad Request",
    }


def assert_granian_answer(raw: bytes, expected: bytes) -> None:
    if expected == _NO_ANSWER:
        assert raw == b""
        return
    status, headers, body = split(raw)
    assert status == expected
    if expected in (_ROUTED_404, _ROUTED_405):
        # Past granian's parser, the routes answer with the JSON error.
        assert headers[b"content-type"] == b"application/json"
        assert json.loads(body)["code"] == (5 if expected == _ROUTED_404 else 12)
    else:
        assert headers[b"connection"] == b"close"
        assert (headers[b"content-length"], body) == (b"0", b"")
