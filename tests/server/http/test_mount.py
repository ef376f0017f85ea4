"""WebSocket endpoints and ASGI apps mounted on the HTTP server's port, beside its routes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from types import SimpleNamespace
from typing import Any

import pytest
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from lbtoolkit._di import Injector
from lbtoolkit.server.http import HttpRouteError, HttpServer
from tests.server.http.support import client, new_server, open_server, spec_of
from tests.server.http.users import UsersService


class Echo:
    """A WebSocket endpoint: echoes each text frame with its path variables; records its end."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.disconnect_codes: list[int] = []

    async def __call__(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(json.dumps({"got": text, **websocket.path_params}))
        except WebSocketDisconnect as disconnect:
            self.disconnect_codes.append(disconnect.code)
        finally:
            self.ended.set()


async def hello(request: Request) -> Response:
    del request
    return PlainTextResponse("hello from a route")


def sub_app() -> Starlette:
    """An application of its own: an HTTP route and a WebSocket route, relative to its mount."""

    async def ping(request: Request) -> Response:
        return JSONResponse({"root_path": request.scope["root_path"], "path": request.url.path})

    async def shout(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text((await websocket.receive_text()).upper())
        await websocket.close()

    return Starlette(routes=[Route("/ping", ping), WebSocketRoute("/shout", shout)])


async def test_a_websocket_route_is_served_on_the_http_port_beside_the_routes() -> None:
    echo = Echo()

    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        server.add_handler("GET", "/hello", hello)
        server.add_websocket_route("/rooms/{room}/live", echo)

    async with open_server(setup=setup) as server:
        url = f"ws://127.0.0.1:{server.port}/rooms/blue/live"
        async with websockets.connect(url) as ws:
            await ws.send("hi")
            answer = json.loads(await ws.recv())
        async with client(server) as http:
            routed = await http.get("/hello")
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"ws://127.0.0.1:{server.port}/rooms/blue")
    assert answer == {"got": "hi", "room": "blue"}
    assert routed.text == "hello from a route"
    # A path nothing serves refuses the handshake, as for the service's own WebSocket routes.
    assert refused.value.response.status_code == 403


async def test_an_asgi_app_gets_its_path_and_everything_under_it() -> None:
    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        server.add_handler("GET", "/hello", hello)
        server.add_asgi_route("/sub", sub_app())

    async with open_server(setup=setup) as server:
        async with client(server) as http:
            pinged = await http.get("/sub/ping")
            beside = await http.get("/subway")
            routed = await http.get("/hello")
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/sub/shout") as ws:
            await ws.send("quiet")
            shouted = await ws.recv()
    assert pinged.json() == {"root_path": "/sub", "path": "/sub/ping"}
    # "/subway" is not under "/sub": the server's own 404 answers it.
    assert beside.status_code == 404
    assert beside.json()["message"] == "no route for GET /subway"
    assert routed.text == "hello from a route"
    assert shouted == "QUIET"


async def test_the_drain_closes_mounted_websocket_connections_too() -> None:
    echo = Echo()

    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        server.add_websocket_route("/live", echo)

    server, injector = new_server()
    setup(server, injector)
    await server.prepare(injector.build())
    await server.start()
    try:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/live") as ws:
            await ws.send("before")
            await ws.recv()
            await server.stop(5)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
    finally:
        await server.stop(5)
        await injector.close()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012  # service restart, as the service's own connections
    assert echo.ended.is_set()
    assert echo.disconnect_codes == [1012]


async def test_the_drain_refuses_a_websocket_handshake_not_yet_accepted(
    monkeypatch: pytest.MonkeyPatch, http_engine: str
) -> None:
    arrived = asyncio.Event()
    drained = asyncio.Event()
    refused: list[OSError] = []

    async def late(websocket: WebSocket) -> None:
        arrived.set()
        await drained.wait()
        try:
            await websocket.accept()
        except OSError as error:
            refused.append(error)
            raise

    server, injector = new_server()
    server.add_websocket_route("/late", late)
    await server.prepare(injector.build())
    await server.start()
    assert server._server is not None
    engine = type(server._server)
    shut_down = engine.shut_down_connections

    def then_accept(self: Any) -> None:
        # The endpoint accepts only once the drain has shut the connections down.
        shut_down(self)
        drained.set()

    monkeypatch.setattr(engine, "shut_down_connections", then_accept)

    async def connect() -> object:
        url = f"ws://127.0.0.1:{server.port}/late"
        return await websockets.connect(url, open_timeout=2)

    try:
        connecting = asyncio.ensure_future(connect())
        await arrived.wait()
        started = asyncio.get_running_loop().time()
        await server.stop(5)
        took = asyncio.get_running_loop().time() - started
        with pytest.raises((websockets.InvalidStatus, TimeoutError)) as answered:
            await connecting
    finally:
        await server.stop(5)
        await injector.close()
    # As uvicorn does at shutdown: accept raises OSError and the drain does not wait for it.
    assert len(refused) == 1
    assert took < 2
    if http_engine == "granian":
        # Stopped, granian answers the refused handshake itself (403, its answer to
        # an application that ends before accepting) or not at all (docs/http.md, Engines).
        refusal = answered.value
        assert not isinstance(refusal, websockets.InvalidStatus) or (
            refusal.response.status_code in {403, 500}
        )
    else:
        assert isinstance(answered.value, websockets.InvalidStatus)
        assert answered.value.response.status_code == 500


async def test_an_endpoint_that_fails_closes_its_connection_as_a_server_error() -> None:
    async def broken(websocket: WebSocket) -> None:
        await websocket.accept()
        message = "the endpoint broke"
        raise RuntimeError(message)

    def setup(server: HttpServer, injector: Injector) -> None:
        del injector
        server.add_websocket_route("/broken", broken)

    async with (
        open_server(setup=setup) as server,
        websockets.connect(f"ws://127.0.0.1:{server.port}/broken") as ws,
    ):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1011


async def test_mounting_after_the_server_is_prepared_is_refused() -> None:
    async with open_server() as server:
        with pytest.raises(RuntimeError) as socket_late:
            server.add_websocket_route("/late", Echo())
        with pytest.raises(RuntimeError) as app_late:
            server.add_asgi_route("/late", sub_app())
    assert str(socket_late.value) == (
        "HTTP server 'test' is prepared; call add_websocket_route() before the service starts"
    )
    assert "call add_asgi_route() before the service starts" in str(app_late.value)


def test_two_websocket_endpoints_on_one_path_are_refused_naming_both() -> None:
    server, _ = new_server()
    server.add_websocket_route("/live", Echo())

    async def other(websocket: WebSocket) -> None:
        await websocket.close()

    with pytest.raises(HttpRouteError) as clash:
        server.add_websocket_route("/live", other)
    assert str(clash.value) == (
        "HTTP route WEBSOCKET /live (test_two_websocket_endpoints_on_one_path_are_refused_naming"
        "_both.<locals>.other): /live is already taken by WEBSOCKET /live (Echo). "
        "Hint: give one of them another path"
    )


def test_a_websocket_endpoint_on_a_websocket_method_path_is_refused(
    protos: SimpleNamespace,
) -> None:
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    get_user = spec.method("GetUser")
    methods = tuple(
        dataclasses.replace(m, websocket=True) if m is get_user else m for m in spec.methods
    )
    server, _ = new_server()
    server.add_service(dataclasses.replace(spec, methods=methods))

    with pytest.raises(HttpRouteError) as clash:
        server.add_websocket_route("/v1/users/{id}", Echo())
    assert "/v1/users/{id} is already taken by WEBSOCKET /v1/users/{id} " in str(clash.value)
    assert "(/httptest.users.Users/GetUser)" in str(clash.value)
    # An HTTP GET route on the same path is no clash: upgrades and requests go apart.
    server.add_websocket_route("/v1/users", Echo())


def test_an_asgi_app_over_a_route_is_refused_naming_both(protos: SimpleNamespace) -> None:
    server, _ = new_server()
    server.add_service(spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService))
    server.add_handler("GET", "/files/{path=**}", hello)

    with pytest.raises(HttpRouteError) as under_a_route:
        server.add_asgi_route("/v1/projects", sub_app())
    with pytest.raises(HttpRouteError) as over_a_wildcard:
        server.add_asgi_route("/files/static", sub_app())
    server.add_asgi_route("/v2", sub_app())
    with pytest.raises(HttpRouteError) as inside_a_mount:
        server.add_asgi_route("/v2/admin", sub_app())
    with pytest.raises(HttpRouteError) as websocket_inside:
        server.add_websocket_route("/v2/live", Echo())

    assert str(under_a_route.value) == (
        "HTTP route ASGI /v1/projects (Starlette): /v1/projects and the paths under it overlap "
        "GET /v1/{name=projects/*/users/*} (/httptest.users.Users/GetUser). "
        "Hint: give one of them another path"
    )
    assert "overlap GET /files/{path=**}" in str(over_a_wildcard.value)
    assert "overlap ASGI /v2 (Starlette)" in str(inside_a_mount.value)
    assert "/v2/live is already taken by ASGI /v2 (Starlette)" in str(websocket_inside.value)


async def test_a_route_added_after_a_mount_under_its_path_fails_the_prepare() -> None:
    server, injector = new_server()
    server.add_asgi_route("/admin", sub_app())
    server.add_handler("POST", "/admin/users", hello)

    with pytest.raises(HttpRouteError) as clash:
        await server.prepare(injector.build())
    await injector.close()
    assert "ASGI /admin (Starlette): /admin and the paths under it overlap POST /admin/users" in (
        str(clash.value)
    )


def test_a_mount_path_with_a_variable_and_a_sync_endpoint_are_refused() -> None:
    server, _ = new_server()

    with pytest.raises(HttpRouteError) as variable:
        server.add_asgi_route("/tenants/{tenant}", sub_app())

    def blocking(websocket: WebSocket) -> None:
        del websocket

    with pytest.raises(TypeError) as sync:
        server.add_websocket_route("/live", blocking)  # type: ignore[arg-type]
    assert "must be literal (no variable, wildcard or verb)" in str(variable.value)
    assert str(sync.value) == "endpoint of WEBSOCKET /live must be an async function (async def)"
