"""The test Greeter: its protos compiled by plain protoc, a spec, an implementation."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import grpc
from grpc_tools import protoc

import lbtoolkit
from lbtoolkit import errors
from lbtoolkit.server import RequestContext
from lbtoolkit.spec import MethodSpec, ServerKind, ServiceSpec

PROTOS = Path(__file__).parent / "protos"
PROTO = "lbtest_greeter.proto"


def compile_protos(out: Path) -> None:
    """Compile the test protos with grpcio-tools, as any grpcio user would."""
    out.mkdir(parents=True, exist_ok=True)
    args = ["protoc", f"-I{PROTOS}", f"--python_out={out}", f"--grpc_python_out={out}", PROTO]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")


def load_modules(out: Path) -> tuple[ModuleType, ModuleType]:
    """``lbtest_greeter_pb2`` and ``lbtest_greeter_pb2_grpc`` compiled into ``out``."""
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    return (
        importlib.import_module("lbtest_greeter_pb2"),
        importlib.import_module("lbtest_greeter_pb2_grpc"),
    )


class GreeterRpcServer(Protocol):
    """What the generated protocol of the Greeter would say."""

    async def say_hello(self, request: Any, context: RequestContext) -> Any: ...
    async def fail(self, request: Any, context: RequestContext) -> Any: ...
    def count_up(self, request: Any, context: RequestContext) -> AsyncIterator[Any]: ...
    async def collect(self, requests: AsyncIterator[Any], context: RequestContext) -> Any: ...
    def chat(self, requests: AsyncIterator[Any], context: RequestContext) -> AsyncIterator[Any]: ...
    async def echo(self, request: Any) -> Any: ...


def greeter_spec(
    pb2: ModuleType, servers: tuple[ServerKind, ...] = (ServerKind.GRPC,)
) -> ServiceSpec:
    """The spec the generator would emit for lbtest_greeter.proto."""

    def method(
        name: str,
        handler: str,
        request: str,
        response: str,
        *,
        client_streaming: bool = False,
        server_streaming: bool = False,
    ) -> MethodSpec:
        return MethodSpec(
            name=name,
            handler=handler,
            grpc_path=f"/lbtest.greeter.Greeter/{name}",
            request_type=getattr(pb2, request),
            response_type=getattr(pb2, response),
            client_streaming=client_streaming,
            server_streaming=server_streaming,
        )

    return ServiceSpec(
        name="Greeter",
        full_name="lbtest.greeter.Greeter",
        servers=servers,
        methods=(
            method("SayHello", "say_hello", "HelloRequest", "HelloReply"),
            method("Fail", "fail", "FailRequest", "HelloReply"),
            method("CountUp", "count_up", "CountRequest", "HelloReply", server_streaming=True),
            method("Collect", "collect", "HelloRequest", "HelloReply", client_streaming=True),
            method(
                "Chat",
                "chat",
                "HelloRequest",
                "HelloReply",
                client_streaming=True,
                server_streaming=True,
            ),
            method("Echo", "echo", "Blob", "Blob"),
        ),
        rpc_server=GreeterRpcServer,
        proto_file=PROTO,
    )


class Greeting:
    """An app-scoped dependency of the implementation, to show DI builds it."""

    def __init__(self, word: str = "Hello") -> None:
        self.word = word


class GreeterService:
    """The Greeter implementation; its constructor takes a dependency."""

    pb2: Any  # the compiled messages, set on the subclass ``implementation`` makes

    def __init__(self, greeting: Greeting) -> None:
        self.greeting = greeting
        self.started = 0

    async def say_hello(self, request: Any, context: RequestContext) -> Any:
        self.started += 1
        if request.delay_ms:
            await asyncio.sleep(request.delay_ms / 1000)
        user = context.metadata.get("x-user", "")
        suffix = f" (from {user})" if user else ""
        return self.pb2.HelloReply(message=f"{self.greeting.word}, {request.name}!{suffix}")

    async def fail(self, request: Any, context: RequestContext) -> Any:
        if request.kind == "unexpected":
            raise RuntimeError("the database password is hunter2")
        if request.kind == "context_abort":
            await context.raw.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, request.message)
        error_class = getattr(errors, request.kind)
        raise error_class(request.message, details=dict(request.details))

    async def count_up(self, request: Any, context: RequestContext) -> AsyncIterator[Any]:
        for i in range(request.n):
            yield self.pb2.HelloReply(message=str(i))
        if context.metadata.get("x-fail-after"):
            raise errors.DataLoss("stream broke")

    async def collect(self, requests: AsyncIterator[Any], context: RequestContext) -> Any:
        del context  # the protocol's signature; this method needs no context
        names = [r.name async for r in requests]
        return self.pb2.HelloReply(message=",".join(names))

    async def chat(
        self, requests: AsyncIterator[Any], context: RequestContext
    ) -> AsyncIterator[Any]:
        del context
        async for r in requests:
            yield self.pb2.HelloReply(message=f"{self.greeting.word}, {r.name}!")

    async def echo(self, request: Any) -> Any:
        return self.pb2.Blob(data=b"x" * request.reply_size)


def implementation(pb2: ModuleType) -> type[GreeterService]:
    """The implementation bound to the compiled messages."""
    return type("Greeter", (GreeterService,), {"pb2": pb2})


@dataclass(frozen=True)
class GreeterKit:
    """Everything a test needs about the Greeter."""

    pb2: ModuleType
    pb2_grpc: ModuleType
    spec: ServiceSpec
    implementation: type
    out: Path

    def new_app(
        self,
        environ: dict[str, str] | None = None,
        *,
        name: str = "example",
        set_service: bool = True,
        greeting: str = "Hello",
    ) -> lbtoolkit.Service:
        """A service on 127.0.0.1 with ports chosen by the system."""
        env = {
            f"LB_{name.upper()}_GRPC_SERVER_LISTEN": "127.0.0.1",
            f"LB_{name.upper()}_GRPC_SERVER_PORT": "0",
            "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
            "LB_PROBES_SERVER_PORT": "0",
            "LB_SHUTDOWN_TIMEOUT": "5s",
            **(environ or {}),
        }
        app = lbtoolkit.new_service(name, env_prefix="LB", environ=env, argv=[])
        app.provide(lambda: Greeting(greeting), provides=Greeting)
        app.server.declare(self.spec)
        if set_service:
            app.server.set_service(self.implementation)
        return app

    def stub(self, channel: grpc.aio.Channel) -> Any:
        return self.pb2_grpc.GreeterStub(channel)


def channel(app: lbtoolkit.Service) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"127.0.0.1:{app.server.grpc.port}")
