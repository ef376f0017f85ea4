"""The HTTP server end to end: answers equal direct calls, settings, set-up errors."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf import json_format, text_format

from lbtoolkit._di import Injector
from lbtoolkit._shortcuts._uvicorn import connections
from lbtoolkit.config import ConfigController
from lbtoolkit.server import RequestContext
from lbtoolkit.server.http import HttpListenError, HttpRouteError, HttpServer
from lbtoolkit.server.http._engines import UvicornEngine
from lbtoolkit.spec import HttpRule, MethodSpec, PathTemplate, ServiceSpec
from lbtoolkit.tools import Tools
from tests.server.http.support import client, new_server, open_server, snake, spec_of
from tests.server.http.users import UsersService


def users_spec(protos: SimpleNamespace, **options: Any) -> ServiceSpec:
    return spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService, **options)


@dataclass(frozen=True)
class Case:
    rpc: str
    method: str
    url: str
    expected: str  # the request message the implementation must get, in text format
    body: Any = None
    response_body: str = ""


CASES = {
    "path variable": Case("GetUser", "GET", "/v1/users/42", "id: 42"),
    "path variable and well-known type in the query": Case(
        "GetUser",
        "GET",
        "/v1/users/42?readMask=displayName,email",
        'id: 42 read_mask { paths: "display_name" paths: "email" }',
    ),
    "segment pattern (additional binding)": Case(
        "GetUser", "GET", "/v1/projects/p1/users/u9", 'name: "projects/p1/users/u9"'
    ),
    "query of every kind": Case(
        "ListUsers",
        "GET",
        "/v1/users?pageSize=10&page_token=abc&roles=ROLE_ADMIN&roles=2&filter.city=Oslo"
        "&filter.age.min=18&filter.age.max=65&labels[team]=core&labels[x]=y"
        "&since=2024-01-02T03:04:05Z&minId=7&includeDeleted=true&ids=1&ids=2&ids=3"
        "&minScore=0.25&cursor=AP8&unknown=ignored",
        """page_size: 10 page_token: "abc" roles: [ROLE_ADMIN, ROLE_MEMBER]
        filter { city: "Oslo" age { min: 18 max: 65 } } labels { key: "team" value: "core" }
        labels { key: "x" value: "y" } since { seconds: 1704164645 } min_id { value: 7 }
        include_deleted: true ids: [1, 2, 3] min_score: 0.25 cursor: "\\000\\377"
        """,
    ),
    "response_body of a scalar (additional binding)": Case(
        "ListUsers",
        "GET",
        "/v1/users:names?pageToken=t",
        'page_token: "t"',
        None,
        "next_page_token",
    ),
    "body field, query, response_body of a repeated field": Case(
        "SearchUsers",
        "POST",
        "/v1/users:search?ids=3&ids=4&filter.city=ignored",
        'ids: [3, 4] filter { city: "Rome" age { min: 1 } }',
        {"city": "Rome", "age": {"min": 1}},
        "users",
    ),
    "body field with every JSON form and a path pattern": Case(
        "CreateUser",
        "POST",
        "/v1/projects/p1/users?requestId=r1",
        """parent: "projects/p1" request_id: "r1" user { id: 5 display_name: "Eve"
        role: ROLE_MEMBER tags: "x" labels { key: "a" value: "b" }
        created_at { seconds: 1704067200 } avatar: "\\000\\001"
        address { city: "Paris" zip_code: "75001" } score: -1.5 }""",
        {
            "id": "5",
            "displayName": "Eve",
            "role": "ROLE_MEMBER",
            "tags": ["x"],
            "labels": {"a": "b"},
            "createdAt": "2024-01-01T00:00:00Z",
            "avatar": "AAE=",
            "address": {"city": "Paris", "zip_code": "75001"},
            "score": -1.5,
        },
    ),
    "body star with a nested path field": Case(
        "UpdateUser",
        "PATCH",
        "/v1/77",
        'user { id: 77 display_name: "New" } update_mask { paths: "display_name" }',
        {"user": {"id": "1", "displayName": "New"}, "updateMask": "displayName"},
    ),
    "body field with a nested path field (additional binding)": Case(
        "UpdateUser",
        "PUT",
        "/v1/users/78",
        'user { id: 78 display_name: "Proto names" }',
        {"display_name": "Proto names"},
    ),
    "no body, empty reply": Case("DeleteUser", "DELETE", "/v1/users/9", "id: 9"),
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_http_answer_equals_the_direct_call(protos: SimpleNamespace, name: str) -> None:
    case = CASES[name]
    spec = users_spec(protos)
    users = UsersService(protos.users)
    async with open_server([(spec, users)]) as server, client(server) as http:
        response = await http.request(case.method, case.url, json=case.body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    method = spec.method(case.rpc)
    expected = text_format.Parse(case.expected, method.request_type())
    [(rpc, received, _)] = users.received
    assert (rpc, received) == (case.rpc, expected)

    direct = await getattr(UsersService(protos.users), snake(case.rpc))(expected, RequestContext())
    whole = json_format.MessageToDict(direct)
    if case.response_body:
        field = method.response_type.DESCRIPTOR.fields_by_name[case.response_body]
        assert response.json() == whole[field.json_name]
    else:
        assert response.json() == whole


async def test_headers_reach_the_context_as_metadata(protos: SimpleNamespace) -> None:
    users = UsersService(protos.users)
    async with open_server([(users_spec(protos), users)]) as server, client(server) as http:
        headers = [("X-Request-Id", "abc"), ("X-Multi", "1"), ("x-multi", "2")]
        response = await http.get("/v1/users/1", headers=headers)
    assert response.status_code == 200
    [(_, _, context)] = users.received
    assert context.metadata["x-request-id"] == "abc"
    assert context.metadata["x-multi"] == "1, 2"
    assert context.method == "/httptest.users.Users/GetUser"
    assert context.transport == "http"
    assert context.peer is not None
    assert context.peer.startswith("ipv4:127.0.0.1:")
    # A copy with a field changed, as an interceptor or a test might make.
    copy = context.replace(metadata={"x-request-id": "def"})
    assert type(copy) is RequestContext
    assert copy.metadata == {"x-request-id": "def"}
    assert (copy.method, copy.transport, copy.peer) == (context.method, "http", context.peer)


class UnitOfWork:
    """A request-scoped dependency."""


async def test_request_scoped_dependencies_live_for_one_call(protos: SimpleNamespace) -> None:
    from starlette.requests import Request  # noqa: PLC0415 - only this test needs them

    from lbtoolkit._di import Scope  # noqa: PLC0415

    closed: list[UnitOfWork] = []
    seen: list[UnitOfWork] = []

    def unit_of_work() -> Iterator[UnitOfWork]:
        opened = UnitOfWork()
        yield opened
        closed.append(opened)

    class Scoped(UsersService):
        async def get_user(self, request: Any, context: RequestContext) -> Any:
            first = await context.get(UnitOfWork)
            assert first is await context.get(UnitOfWork)
            assert isinstance(context.raw, Request)
            seen.append(first)
            return await super().get_user(request, context)

    def setup(server: HttpServer, injector: Injector) -> None:
        del server
        injector.provide(unit_of_work, provides=UnitOfWork, scope=Scope.REQUEST)

    spec = users_spec(protos)
    async with (
        open_server([(spec, Scoped(protos.users))], setup=setup) as server,
        client(server) as http,
    ):
        responses = [await http.get("/v1/users/1"), await http.get("/v1/users/2")]
        deleted = await http.delete("/v1/users/3")
    assert [r.status_code for r in [*responses, deleted]] == [200, 200, 200]
    assert closed == seen
    assert len({id(s) for s in seen}) == 2


async def test_json_names_can_be_the_proto_names(protos: SimpleNamespace) -> None:
    environ = {"LB_TEST_SERVER_JSON_NAMES": "proto"}
    users = UsersService(protos.users)
    async with (
        open_server([(users_spec(protos), users)], environ=environ) as server,
        client(server) as http,
    ):
        response = await http.get("/v1/users/3")
    body = response.json()
    assert body["display_name"] == "User 3"
    assert body["address"]["zip_code"] == "0150"
    assert "displayName" not in body


async def test_extra_handlers_get_decoded_path_params(protos: SimpleNamespace) -> None:
    from starlette.requests import Request  # noqa: PLC0415 - only this test needs them
    from starlette.responses import JSONResponse, Response  # noqa: PLC0415

    async def files(request: Request) -> Response:
        return JSONResponse({"params": request.path_params, "query": dict(request.query_params)})

    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        server.add_handler("get", "/files/{bucket}/{path=**}", files)

    async with open_server(setup=setup) as server, client(server) as http:
        response = await http.get("/files/my%20bucket/a/b%2Fc.txt?x=1")
    assert response.json() == {
        "params": {"bucket": "my bucket", "path": "a/b%2Fc.txt"},
        "query": {"x": "1"},
    }


def test_extra_handlers_must_be_async() -> None:
    def blocking(request: Any) -> Any:
        return request

    server, _ = new_server()
    with pytest.raises(TypeError) as raised:
        server.add_handler("GET", "/x", blocking)
    assert str(raised.value) == "handler of GET /x must be an async function (async def)"


async def test_post_without_body_option_reads_a_body_and_the_query(protos: SimpleNamespace) -> None:
    base = users_spec(protos).method("GetUser")
    path = "/v1/users/{id}:touch"
    rule = HttpRule("POST", path, PathTemplate.parse(path))
    method = MethodSpec(**{**_fields(base), "http_rules": (rule,)})
    spec = ServiceSpec("Users", "httptest.users.Users", (), (method,), rpc_server=UsersService)
    users = UsersService(protos.users)
    async with open_server([(spec, users)]) as server, client(server) as http:
        with_body = await http.post("/v1/users/5:touch?readMask=email", json={"name": "n"})
        without = await http.post("/v1/users/6:touch")
    assert (with_body.status_code, without.status_code) == (200, 200)
    received = [request for _, request, _ in users.received]
    assert received == [
        text_format.Parse('id: 5 name: "n" read_mask { paths: "email" }', base.request_type()),
        text_format.Parse("id: 6", base.request_type()),
    ]


async def test_server_streaming_methods_stream_their_failure(protos: SimpleNamespace) -> None:
    # Watch raises before its first reply: the stream is its final error line
    # (tests/server/http/test_streaming.py covers streaming itself).
    users = UsersService(protos.users)
    async with open_server([(users_spec(protos), users)]) as server, client(server) as http:
        response = await http.get("/v1/users/1:watch")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    error = {"code": 13, "message": "internal error", "details": []}
    error["status"] = "Internal Server Error"
    assert [json.loads(line) for line in response.text.splitlines()] == [{"error": error}]


# Reads the documented defaults, uvicorn the engine's: the patched default would show instead.
@pytest.mark.one_engine
def test_settings_are_named_after_the_service() -> None:
    config = ConfigController("LB", environ={})
    HttpServer("example", runtime_config=config, tools=Tools("example", "lb"), injector=Injector())
    variables = {v.name: v.default for v in config.variables()}
    assert variables == {
        "LB_EXAMPLE_SERVER_LISTEN": "0.0.0.0",  # noqa: S104 - the documented default
        "LB_EXAMPLE_SERVER_PORT": "8080",
        "LB_EXAMPLE_SERVER_CORS_ENABLED": "false",
        "LB_EXAMPLE_SERVER_CORS_ALLOWED_ORIGINS": "",
        "LB_EXAMPLE_SERVER_CORS_ALLOWED_METHODS": "GET,POST,PUT,PATCH,DELETE",
        "LB_EXAMPLE_SERVER_CORS_ALLOWED_HEADERS": "Authorization,Content-Type",
        "LB_EXAMPLE_SERVER_CORS_ALLOW_CREDENTIALS": "false",
        "LB_EXAMPLE_SERVER_CORS_MAX_AGE": "10m",
        "LB_EXAMPLE_SERVER_MAX_BODY_SIZE": "4194304",
        "LB_EXAMPLE_SERVER_JSON_NAMES": "json",
        "LB_EXAMPLE_SERVER_STRICT_JSON": "false",
        "LB_EXAMPLE_SERVER_READ_TIMEOUT": "30s",
        "LB_EXAMPLE_SERVER_KEEPALIVE_TIMEOUT": "5s",
        "LB_EXAMPLE_SERVER_ENGINE": "uvicorn",
        "LB_EXAMPLE_SERVER_DOCS_ENABLED": "true",
    }


def test_bad_settings_are_reported_with_their_names() -> None:
    environ = {"LB_EXAMPLE_SERVER_PORT": "http", "LB_EXAMPLE_SERVER_JSON_NAMES": "camel"}
    config = ConfigController("LB", environ=environ)
    HttpServer("example", runtime_config=config, tools=Tools("example", "lb"), injector=Injector())
    assert sorted(issue.variable for issue in config.issues) == [
        "LB_EXAMPLE_SERVER_JSON_NAMES",
        "LB_EXAMPLE_SERVER_PORT",
    ]


async def test_start_reports_a_taken_port_with_the_variable_to_change() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server, injector = new_server(environ={"LB_TEST_SERVER_PORT": str(port)})
        await server.prepare(injector.build())
        with pytest.raises(HttpListenError) as raised:
            await server.start()
    message = str(raised.value)
    assert message.startswith(f'HTTP server "test" cannot listen on 127.0.0.1:{port}: ')
    assert message.endswith("Hint: set LB_TEST_SERVER_PORT to a free port")


async def test_start_names_the_listen_variable_when_the_address_is_not_local() -> None:
    server, injector = new_server(environ={"LB_TEST_SERVER_LISTEN": "192.0.2.1"})
    await server.prepare(injector.build())
    with pytest.raises(HttpListenError) as raised:
        await server.start()
    message = str(raised.value)
    assert message.startswith('HTTP server "test" cannot listen on 192.0.2.1:0: ')
    assert message.endswith(
        "Hint: set LB_TEST_SERVER_LISTEN to an address of this host (0.0.0.0 for every interface)"
    )


def test_every_constraint_is_reported_with_its_rule() -> None:
    environ = {
        "LB_EXAMPLE_SERVER_LISTEN": "\u202e",
        "LB_EXAMPLE_SERVER_PORT": "70000",
        "LB_EXAMPLE_SERVER_CORS_MAX_AGE": "-5s",
        "LB_EXAMPLE_SERVER_MAX_BODY_SIZE": "-1",
        "LB_EXAMPLE_SERVER_JSON_NAMES": "camel",
    }
    config = ConfigController("LB", environ=environ)
    HttpServer("example", runtime_config=config, tools=Tools("example", "lb"), injector=Injector())
    assert [str(issue) for issue in config.issues] == [
        (
            "LB_EXAMPLE_SERVER_LISTEN: '\\u202e' is not a valid host name"
            " (control or bidirectional characters)"
        ),
        "LB_EXAMPLE_SERVER_PORT: 70000 is not a valid port (0-65535)",
        "LB_EXAMPLE_SERVER_CORS_MAX_AGE: -5s is not a valid duration (0s-24h)",
        "LB_EXAMPLE_SERVER_MAX_BODY_SIZE: -1 is not a valid size (at least 0)",
        "LB_EXAMPLE_SERVER_JSON_NAMES: 'camel' is not one of json, proto",
    ]


async def test_start_returns_once_listening_and_stop_is_idempotent() -> None:
    server, injector = new_server()
    with pytest.raises(RuntimeError, match="must be prepared before it starts"):
        await server.start()
    await server.prepare(injector.build())
    await server.start()
    assert server.port != 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()
    await server.stop(1)
    await server.stop(1)
    with pytest.raises(OSError):  # noqa: PT011 - refused, whatever the platform calls it
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


@contextmanager
def accepted_socket(peer: tuple[str, int]) -> Iterator[socket.socket]:
    """A copy of this process's socket connected to ``peer`` (Linux: read from /proc)."""
    for entry in Path("/proc/self/fd").iterdir():
        try:
            candidate = socket.socket(fileno=os.dup(int(entry.name)))
        except OSError:
            continue  # gone, or not a socket
        try:
            connected = candidate.type == socket.SOCK_STREAM and candidate.getpeername() == peer
        except OSError:
            connected = False  # a listener, or not an internet socket
        if connected:
            with candidate:
                yield candidate
            return
        candidate.close()
    msg = f"no socket of this process is connected to {peer}"
    raise AssertionError(msg)


async def test_connections_send_without_nagle_delay(http_engine: str) -> None:
    # A response's body follows its headers in a second write: with Nagle's
    # algorithm on, it waits for the client's delayed ACK (40 ms on Linux).
    server, injector = new_server()
    await server.prepare(injector.build())
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /none HTTP/1.1\r\nhost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        if http_engine == "granian":
            # granian keeps its connections in Rust: find ours among the process's descriptors.
            with accepted_socket(writer.get_extra_info("sockname")) as accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        else:
            assert isinstance(server._server, UvicornEngine)
            [connection] = connections(server._server.server)
            accepted = connection.transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        writer.close()
        await writer.wait_closed()
        await server.stop(1)


async def test_declarations_after_prepare_are_refused() -> None:
    server, injector = new_server()
    await server.prepare(injector.build())
    with pytest.raises(RuntimeError, match=r"call use_middleware\(\) before the service starts"):
        server.use_middleware("auth")


class Partial:
    """Implements one method of Users only."""

    async def get_user(self, request: Any, context: RequestContext) -> Any:
        raise NotImplementedError


async def test_a_missing_implementation_method_is_named(protos: SimpleNamespace) -> None:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], Partial)
    with pytest.raises(HttpRouteError) as raised:
        async with open_server([(spec, Partial())]):
            pass
    assert str(raised.value) == (
        "HTTP route GET /v1/users (/httptest.users.Users/ListUsers): Partial has no method "
        "'list_users'. Hint: implement async def list_users(self, request, context)"
    )


async def test_a_path_variable_must_name_a_scalar_field(protos: SimpleNamespace) -> None:
    base = users_spec(protos).method("ListUsers")
    for path, reason in [
        ("/v1/{nope}", "path variable {nope}: httptest.users.ListUsersRequest has no field 'nope'"),
        ("/v1/{roles}", "path variable {roles} must name a single scalar field"),
        ("/v1/{filter}", "path variable {filter} must name a single scalar field"),
        ("/v1/{labels}", "path variable {labels} must name a single scalar field"),
        (
            "/v1/{page_size.x}",
            (
                "path variable {page_size.x}: "
                "httptest.users.ListUsersRequest.page_size is not a single message field"
            ),
        ),
    ]:
        rule = HttpRule("GET", path, PathTemplate.parse(path))
        method = MethodSpec(**{**_fields(base), "http_rules": (rule,)})
        spec = ServiceSpec("Users", "httptest.users.Users", (), (method,), rpc_server=UsersService)
        with pytest.raises(HttpRouteError) as raised:
            async with open_server([(spec, UsersService(protos.users))]):
                pass
        assert str(raised.value) == f"HTTP route GET {path} ({base.grpc_path}): {reason}"


def _fields(method: object) -> dict[str, Any]:
    slots: tuple[str, ...] = type(method).__slots__  # type: ignore[attr-defined]
    return {name: getattr(method, name) for name in slots}


async def test_a_body_sent_in_several_chunks_is_read_whole(protos: SimpleNamespace) -> None:
    users = UsersService(protos.users)

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"id": "7", ', b'"display', b'Name": "Ann"}'):
            yield part

    async with open_server([(users_spec(protos), users)]) as server, client(server) as http:
        response = await http.post("/v1/projects/p/users", content=chunks())
    assert response.status_code == 200, response.text
    _, request, context = users.received[0]
    assert request.parent == "projects/p"
    assert (request.user.id, request.user.display_name) == (7, "Ann")
    assert context.metadata["transfer-encoding"] == "chunked"
