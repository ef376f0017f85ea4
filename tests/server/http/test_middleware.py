"""Middlewares: built once by DI, global and route order, exclusion, single application; CORS."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lbtoolkit._di import Injector
from lbtoolkit.errors import Unauthenticated
from lbtoolkit.runtime import DependencyError
from lbtoolkit.server.http import CallNext, HttpServer, Middleware, MiddlewareNotFoundError
from tests.server.http.support import client, new_server, open_server, spec_of
from tests.server.http.users import UsersService


class Journal:
    """What the middlewares saw, in order; provided by dependency injection."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.built: list[str] = []


def recording(name: str) -> Any:
    def construct(journal: Journal) -> Middleware:
        journal.built.append(name)

        async def middleware(request: Request, call_next: CallNext) -> Response:
            journal.events.append(f"{name}>")
            response = await call_next(request)
            journal.events.append(f"<{name}:{response.status_code}")
            return response

        return middleware

    return construct


class ClassMiddleware:
    """A class works as a constructor too: its instance is the middleware."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        journal.built.append("c")

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        self.journal.events.append("c>")
        response = await call_next(request)
        self.journal.events.append(f"<c:{response.status_code}")
        return response


async def async_constructor(journal: Journal) -> Middleware:
    return await _as_awaitable(recording("d")(journal))


async def _as_awaitable(middleware: Middleware) -> Middleware:
    return middleware


async def extra(request: Request) -> Response:
    return JSONResponse({"path": request.url.path})


def setup_chain(journal: Journal) -> Any:
    def setup(server: HttpServer, injector: Injector) -> None:
        injector.provide_value(journal, provides=Journal)
        server.set_middleware("a", recording("a"))
        server.set_middleware("b", recording("b"))
        server.set_middleware("c", ClassMiddleware)
        server.set_middleware("d", async_constructor)
        server.set_middleware("unused", recording("unused"))
        server.use_middleware("b")
        server.add_handler("GET", "/extra", extra, middlewares=["d", "b"])

    return setup


def chain_spec(protos: SimpleNamespace) -> Any:
    return spec_of(
        protos.users.DESCRIPTOR.services_by_name["Users"],
        UsersService,
        middlewares=["a"],  # option (toolkit.server).middlewares
        route_middlewares={"GetUser": ["c", "a"], "Fail": ["c"]},
        excluded={"DeleteUser": ["a"]},
    )


async def test_order_exclusion_and_single_application(protos: SimpleNamespace) -> None:
    journal = Journal()
    spec = chain_spec(protos)
    async with (
        open_server([(spec, UsersService(protos.users))], setup=setup_chain(journal)) as server,
        client(server) as http,
    ):
        results = {}
        for name, method, url in [
            ("get", "GET", "/v1/users/1"),
            ("delete", "DELETE", "/v1/users/1"),
            ("extra", "GET", "/extra"),
            ("error", "POST", "/v1/fail"),
        ]:
            journal.events.clear()
            body = {"code": "NOT_FOUND"} if method == "POST" else None
            await http.request(method, url, json=body)
            results[name] = list(journal.events)
    assert results == {
        # global (the service's, then use_middleware), then the route's; "a" once
        "get": ["a>", "b>", "c>", "<c:200", "<b:200", "<a:200"],
        # "a" excluded by the route
        "delete": ["b>", "<b:200"],
        # extra handlers get the global ones too; "b" listed again is not applied twice
        "extra": ["a>", "b>", "d>", "<d:200", "<b:200", "<a:200"],
        # middlewares see error answers as responses
        "error": ["a>", "b>", "c>", "<c:404", "<b:404", "<a:404"],
    }
    assert sorted(journal.built) == ["a", "b", "c", "d"]  # once each; "unused" never built


async def test_a_middleware_may_answer_or_raise(protos: SimpleNamespace) -> None:
    def guard() -> Middleware:
        async def check(request: Request, call_next: CallNext) -> Response:
            token = request.headers.get("authorization")
            if token is None:
                raise Unauthenticated("missing token")
            if token != "Bearer good":  # noqa: S105 - a test token
                return JSONResponse({"denied": True}, status_code=403)
            return await call_next(request)

        return check

    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        server.set_middleware("guard", guard)
        server.use_middleware("guard")

    users = UsersService(protos.users)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with open_server([(spec, users)], setup=setup) as server, client(server) as http:
        missing = await http.get("/v1/users/1")
        denied = await http.get("/v1/users/1", headers={"authorization": "Bearer bad"})
        allowed = await http.get("/v1/users/1", headers={"authorization": "Bearer good"})
    assert (missing.status_code, missing.json()["message"]) == (401, "missing token")
    assert (denied.status_code, denied.json()) == (403, {"denied": True})
    assert allowed.status_code == 200
    assert len(users.received) == 1


async def test_an_unknown_middleware_is_named_with_its_route(protos: SimpleNamespace) -> None:
    spec = spec_of(
        protos.users.DESCRIPTOR.services_by_name["Users"],
        UsersService,
        route_middlewares={"DeleteUser": ["audit"]},
    )

    def setup(server: HttpServer, injector: Injector) -> None:
        injector.provide_value(Journal(), provides=Journal)
        server.set_middleware("a", recording("a"))

    with pytest.raises(MiddlewareNotFoundError) as raised:
        async with open_server([(spec, UsersService(protos.users))], setup=setup):
            pass
    assert str(raised.value) == (
        "middleware 'audit' used by DELETE /v1/users/{id} (/httptest.users.Users/DeleteUser) "
        "is not registered (registered: 'a'). "
        "Hint: register it with app.server.http.set_middleware('audit', constructor)"
    )


async def test_a_missing_dependency_of_a_middleware_fails_the_graph_check() -> None:
    server, injector = new_server()
    server.set_middleware("a", recording("a"))
    with pytest.raises(DependencyError) as raised:
        injector.build()
    assert str(raised.value).startswith(
        "no provider for tests.server.http.test_middleware.Journal, "
        "needed by tests.server.http.test_middleware.recording.<locals>.construct."
    )


async def test_middlewares_registered_after_the_container_is_built() -> None:
    journal = Journal()
    server, injector = new_server()
    injector.provide_value(journal, provides=Journal)
    container = injector.build()
    server.set_middleware("late", recording("late"))
    server.use_middleware("late")
    server.add_handler("GET", "/extra", extra)
    await server.prepare(container)
    await server.start()
    try:
        async with client(server) as http:
            response = await http.get("/extra")
    finally:
        await server.stop(1)
    assert response.status_code == 200
    assert journal.events == ["late>", "<late:200"]


def test_a_middleware_given_instead_of_its_constructor_is_refused() -> None:
    async def bare(request: Request, call_next: CallNext) -> Response:
        return await call_next(request)

    server, _ = new_server()
    with pytest.raises(TypeError) as raised:
        server.set_middleware("bare", bare)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "middleware 'bare': test_a_middleware_given_instead_of_its_constructor_is_refused."
        "<locals>.bare is a middleware, not a constructor; pass a function that returns it "
        "(set_middleware('bare', lambda: middleware))"
    )


CORS = {
    "LB_TEST_SERVER_CORS_ENABLED": "true",
    "LB_TEST_SERVER_CORS_ALLOWED_ORIGINS": "https://app.example.com,https://admin.example.com",
}
ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.com"


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "PATCH",
        "access-control-request-headers": "content-type",
    }


async def test_cors_answers_allowed_origins_only(protos: SimpleNamespace) -> None:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with (
        open_server([(spec, UsersService(protos.users))], environ=CORS) as server,
        client(server) as http,
    ):
        allowed_preflight = await http.options("/v1/users/1", headers=preflight(ALLOWED))
        other_preflight = await http.options("/v1/users/1", headers=preflight(OTHER))
        allowed_get = await http.get("/v1/users/1", headers={"origin": ALLOWED})
        other_get = await http.get("/v1/users/1", headers={"origin": OTHER})
        error_get = await http.get("/v1/users/x", headers={"origin": ALLOWED})
    assert allowed_preflight.status_code == 200
    assert allowed_preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "PATCH" in allowed_preflight.headers["access-control-allow-methods"]
    assert allowed_preflight.headers["access-control-max-age"] == "600"
    assert other_preflight.status_code == 400
    assert "access-control-allow-origin" not in other_preflight.headers
    assert allowed_get.headers["access-control-allow-origin"] == ALLOWED
    assert "origin" in allowed_get.headers["vary"].lower()
    assert other_get.status_code == 200
    assert "access-control-allow-origin" not in other_get.headers
    assert error_get.status_code == 400
    assert error_get.headers["access-control-allow-origin"] == ALLOWED


async def test_cors_is_off_by_default(protos: SimpleNamespace) -> None:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    async with open_server([(spec, UsersService(protos.users))]) as server, client(server) as http:
        response = await http.get("/v1/users/1", headers={"origin": ALLOWED})
        options = await http.options("/v1/users/1", headers=preflight(ALLOWED))
    assert "access-control-allow-origin" not in response.headers
    assert options.status_code == 405
