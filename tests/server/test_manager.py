"""The server registry: what declare creates, once, and what a plain service binds."""

from __future__ import annotations

import dataclasses
import importlib
import socket
from typing import Any, Protocol

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2

import lbtoolkit
from lbtoolkit.server import ImplementationError, RequestContext, ServerNotDeclaredError
from lbtoolkit.spec import MethodSpec, ServerKind, ServiceSpec
from lbtoolkit.testing import open_service
from lbtoolkit.tools import PortConflictError

Request, Response = health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
LOCAL = {
    "LB_EXAMPLE_GRPC_SERVER_LISTEN": "127.0.0.1",
    "LB_EXAMPLE_GRPC_SERVER_PORT": "0",
    "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
    "LB_PROBES_SERVER_PORT": "0",
}


class PingRpcServer(Protocol):
    async def ping(self, request: Any, context: RequestContext) -> Any: ...


class PongRpcServer(Protocol):
    async def pong(self, request: Any, context: RequestContext) -> Any: ...


def spec(name: str, handler: str, rpc_server: type[object] | None) -> ServiceSpec:
    method = MethodSpec(
        name=name,
        handler=handler,
        grpc_path=f"/lbtest.manager.{name}er/{name}",
        request_type=Request,
        response_type=Response,
    )
    return ServiceSpec(
        name=f"{name}er",
        full_name=f"lbtest.manager.{name}er",
        servers=(ServerKind.GRPC,),
        methods=(method,),
        rpc_server=rpc_server,
    )


PING = spec("Ping", "ping", PingRpcServer)
PONG = spec("Pong", "pong", PongRpcServer)


class Both:
    async def ping(self, request: Any, context: RequestContext) -> Any:
        del request, context
        return Response(status=Response.SERVING)

    async def pong(self, request: Any, context: RequestContext) -> Any:
        del request, context
        return Response(status=Response.NOT_SERVING)


def new_app(environ: dict[str, str] | None = None) -> lbtoolkit.Service:
    return lbtoolkit.new_service(
        "example", env_prefix="LB", environ={**LOCAL, **(environ or {})}, argv=[]
    )


async def call(app: lbtoolkit.Service, path: str) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.server.grpc.port}") as channel:
        method = channel.unary_unary(
            path,
            request_serializer=Request.SerializeToString,
            response_deserializer=Response.FromString,
        )
        return await method(Request())


def test_a_plain_service_has_no_server_and_binds_nothing() -> None:
    app = new_app()
    assert app.server.servers == ()
    assert app.server.tool_servers == ()
    assert app.server.probes is None
    with pytest.raises(ServerNotDeclaredError) as raised:
        _ = app.server.grpc
    assert str(raised.value) == (
        "service 'example' has no grpc server: no declared service lists it\n"
        "Hint: add GRPC to `option (toolkit.runtime).servers` in the .proto file and regenerate, "
        "or call app.server.declare(spec) with such a spec"
    )


async def test_a_plain_service_serves_probes_when_enabled_explicitly() -> None:
    app = new_app({"LB_PROBES_SERVER_ENABLED": "true"})
    assert app.server.probes is not None
    assert app.server.tool_servers == (app.server.probes,)
    async with open_service(app), httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{app.server.probes.port}/_healthz/readiness")
    assert (response.status_code, response.json()) == (200, {})


def test_declare_creates_one_grpc_server_for_every_spec_and_probes_once() -> None:
    app = new_app()
    app.server.declare(PING)
    app.server.declare(PONG)
    assert app.server.declared == (PING, PONG)
    assert app.server.servers == (app.server.grpc,)
    assert app.server.grpc.name == "example"
    assert app.server.grpc.services == (PING, PONG)
    assert app.server.tool_servers == (app.server.probes,)


def test_servers_read_variables_named_after_the_service() -> None:
    app = new_app()
    app.server.declare(PING)
    names = [v.name for v in app.config.variables()]
    assert "LB_EXAMPLE_GRPC_SERVER_PORT" in names
    assert "LB_EXAMPLE_GRPC_SERVER_MAX_RECEIVE_MESSAGE_SIZE" in names
    assert "LB_EXAMPLE_GRPC_SERVER_DISABLED" in names
    assert "LB_PROBES_SERVER_PORT" in names
    assert "LB_PROBES_LIVENESS_PATH" in names
    defaults = {v.name: v.default for v in app.config.variables()}
    assert defaults["LB_EXAMPLE_GRPC_SERVER_PORT"] == "9000"
    assert defaults["LB_PROBES_SERVER_PORT"] not in ("8080", "9000")


def test_probes_can_be_switched_off_for_a_declared_service() -> None:
    app = new_app({"LB_PROBES_SERVER_ENABLED": "false"})
    app.server.declare(PING)
    assert app.server.tool_servers == ()


async def test_one_implementation_answers_every_spec_it_implements() -> None:
    app = new_app()
    app.server.declare(PING)
    app.server.declare(PONG)
    app.server.grpc.set_service(Both)  # the same as app.server.set_service(Both)
    async with open_service(app):
        assert (await call(app, "/lbtest.manager.Pinger/Ping")).status == Response.SERVING
        assert (await call(app, "/lbtest.manager.Ponger/Pong")).status == Response.NOT_SERVING
        ping: object = await app.runtime.injector.get(PingRpcServer)
        pong: object = await app.runtime.injector.get(PongRpcServer)
    assert ping is pong


def test_a_spec_answered_twice_is_an_error() -> None:
    app = new_app()
    app.server.declare(PING)
    app.server.set_service(Both)
    with pytest.raises(ImplementationError, match=r"already served by .*\.Both"):
        app.server.set_service(Both, spec=PING)


async def test_a_service_served_over_http_only_takes_its_implementation() -> None:
    http_only = dataclasses.replace(PING, servers=(ServerKind.HTTP,))
    app = new_app()
    app.server.declare(http_only)
    app.server.set_service(Both)
    async with open_service(app):
        served: object = await app.runtime.injector.get(PingRpcServer)
    assert isinstance(served, Both)


def test_set_service_before_declare_is_an_error() -> None:
    with pytest.raises(ImplementationError, match="no service is declared yet"):
        new_app().server.set_service(Both)


async def test_probes_on_the_grpc_port_fail_the_start_naming_both_variables() -> None:
    app = new_app({"LB_EXAMPLE_GRPC_SERVER_PORT": "9100", "LB_PROBES_SERVER_PORT": "9100"})
    app.server.declare(PING)
    app.server.set_service(Both)
    with pytest.raises(lbtoolkit.StartError) as raised:
        await app.start()
    assert isinstance(raised.value.__cause__, PortConflictError)
    assert str(raised.value.__cause__) == (
        "LB_PROBES_SERVER_PORT=9100: the probes server cannot use the port of the "
        'grpc server "example" '
        "(LB_EXAMPLE_GRPC_SERVER_PORT)\n"
        "Hint: set LB_PROBES_SERVER_PORT to another port (the HTTP server's port shares it)"
    )


class FakeHttp:
    """Stands for the HTTP server: a name, a port, add_handler, the Server protocol."""

    name = "example"
    port = 8080

    def __init__(self) -> None:
        self.routes: list[tuple[str, str]] = []

    def add_handler(self, method: str, path: str, handler: object) -> None:
        del handler
        self.routes.append((method, path))

    async def prepare(self, container: object) -> None: ...
    async def start(self) -> None: ...
    async def stop(self, timeout: float) -> None: ...


async def test_probes_on_the_http_port_share_the_http_server() -> None:
    app = new_app({"LB_PROBES_SERVER_PORT": "8080"})
    app.server.declare(PING)
    app.server.set_service(Both)
    http = FakeHttp()
    app.server._http = http  # type: ignore[assignment]
    async with open_service(app):
        assert app.server.probes is not None
        assert app.server.probes.shared_with == "example"
        assert app.server.probes.port == 8080
    assert http.routes == [
        ("GET", "/_healthz/liveness"),
        ("GET", "/_healthz/readiness"),
        ("GET", "/metrics"),
    ]


async def test_probes_answer_on_the_real_http_server_when_sharing_its_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    environ = {"LB_EXAMPLE_SERVER_LISTEN": "127.0.0.1", "LB_EXAMPLE_SERVER_PORT": port}
    app = new_app({**environ, "LB_PROBES_SERVER_PORT": port})
    app.server.declare(dataclasses.replace(PING, servers=(ServerKind.GRPC, ServerKind.HTTP)))
    app.server.set_service(Both)
    async with open_service(app), httpx.AsyncClient() as client:
        readiness = await client.get(f"http://127.0.0.1:{port}/_healthz/readiness")
        metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert (readiness.status_code, readiness.json()) == (200, {})
    assert "lbtoolkit_lifecycle_state" in metrics.text


@pytest.mark.parametrize("name", ["lbtoolkit.server", "lbtoolkit.server.grpc"])
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    assert list(module.__all__) == sorted(module.__all__)
    for attribute in module.__all__:
        assert hasattr(module, attribute), f"{name}.{attribute}"
