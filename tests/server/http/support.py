"""Helpers of the HTTP server tests: compiled protos, specs read from them, running servers."""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc_tools
import httpx
from google.api import annotations_pb2, http_pb2  # type: ignore[import-untyped]
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from grpc_tools import protoc

from lbtoolkit._di import Injector
from lbtoolkit.config import ConfigController
from lbtoolkit.server.http import HttpServer
from lbtoolkit.spec import HttpRule, MethodSpec, PathTemplate, ServerKind, ServiceSpec
from lbtoolkit.tools import Tools

PROTOS = Path(__file__).parent / "protos"
PROTO_MODULES = ("legacy", "messaging", "shapes", "users")


def compile_protos(out: Path) -> SimpleNamespace:
    """Compile the test protos into ``out`` and import them (once per process)."""
    googleapis = Path(annotations_pb2.__file__).parents[2]
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    files = sorted(str(p) for p in (PROTOS / "httptest").glob("*.proto"))
    arguments = ["protoc", f"-I{PROTOS}", f"-I{googleapis}", f"-I{well_known}"]
    status = protoc.main([*arguments, f"--python_out={out}", *files])
    assert status == 0, f"protoc failed with {status}"
    sys.path.insert(0, str(out))
    modules = {name: importlib.import_module(f"httptest.{name}_pb2") for name in PROTO_MODULES}
    return SimpleNamespace(**modules)


def snake(name: str) -> str:
    """``GetUser`` -> ``get_user``: the implementation method of an RPC."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def rules_of(method: MethodDescriptor) -> tuple[HttpRule, ...]:
    """The ``google.api.http`` option of a method, additional bindings flattened."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return ()
    top: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return tuple(_rule(r) for r in (top, *top.additional_bindings))


def _rule(rule: http_pb2.HttpRule) -> HttpRule:
    kind = rule.WhichOneof("pattern")
    assert kind is not None
    if kind == "custom":
        verb, path = rule.custom.kind, rule.custom.path
    else:
        verb, path = kind.upper(), getattr(rule, kind)
    return HttpRule(verb, path, PathTemplate.parse(path), rule.body, rule.response_body)


def spec_of(
    service: ServiceDescriptor,
    rpc_server: type[object],
    *,
    middlewares: Sequence[str] = (),
    route_middlewares: Mapping[str, Sequence[str]] | None = None,
    excluded: Mapping[str, Sequence[str]] | None = None,
) -> ServiceSpec:
    """A ``ServiceSpec`` as the generator would write it for ``service``."""
    methods = [
        MethodSpec(
            name=method.name,
            handler=snake(method.name),
            grpc_path=f"/{service.full_name}/{method.name}",
            request_type=message_factory.GetMessageClass(method.input_type),
            response_type=message_factory.GetMessageClass(method.output_type),
            client_streaming=method.client_streaming,
            server_streaming=method.server_streaming,
            http_rules=rules_of(method),
            middlewares=tuple((route_middlewares or {}).get(method.name, ())),
            exclude_global_middlewares=tuple((excluded or {}).get(method.name, ())),
        )
        for method in service.methods
    ]
    return ServiceSpec(
        name=service.name,
        full_name=service.full_name,
        servers=(ServerKind.HTTP,),
        methods=tuple(methods),
        middlewares=tuple(middlewares),
        rpc_server=rpc_server,
    )


def new_server(
    *, environ: Mapping[str, str] | None = None, name: str = "test", tools: Tools | None = None
) -> tuple[HttpServer, Injector]:
    """A server on 127.0.0.1 and a free port, reading only ``environ``."""
    variables = {
        f"LB_{name.upper()}_SERVER_LISTEN": "127.0.0.1",
        f"LB_{name.upper()}_SERVER_PORT": "0",
        **(environ or {}),
    }
    config = ConfigController("LB", environ=variables)
    injector = Injector()
    tools = tools or Tools(name, "lb")
    server = HttpServer(name, runtime_config=config, tools=tools, injector=injector)
    config.raise_for_issues()
    return server, injector


@asynccontextmanager
async def open_server(
    specs: Sequence[tuple[ServiceSpec, object]] = (),
    *,
    environ: Mapping[str, str] | None = None,
    setup: Callable[[HttpServer, Injector], None] | None = None,
    stop_timeout: float = 5,
    tools: Tools | None = None,
) -> AsyncIterator[HttpServer]:
    """Start a server for ``(spec, implementation)`` pairs; stop it at the end."""
    server, injector = new_server(environ=environ, tools=tools)
    for spec, implementation in specs:
        assert spec.rpc_server is not None
        injector.provide_value(implementation, provides=spec.rpc_server)
        server.add_service(spec)
    if setup is not None:
        setup(server, injector)
    await server.prepare(injector.build())
    await server.start()
    try:
        yield server
    finally:
        await server.stop(stop_timeout)
        await injector.close()


async def wait_until(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Poll ``condition`` until it holds (server state has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def client(server: HttpServer, **options: Any) -> httpx.AsyncClient:
    """An HTTP client of a started server."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", **options)
