"""Generated gateways and their upstream, on free loopback ports."""

from __future__ import annotations

import asyncio
import importlib
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lbtoolkit import errors
from lbtoolkit.codegen import generate_package
from lbtoolkit.testing import open_service

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import ModuleType

    import pytest

    import lbtoolkit
    from lbtoolkit.server import RequestContext

PROTOS = Path(__file__).parent / "protos"
PREFIX = "WSGW"


@dataclass(frozen=True)
class Generated:
    """The modules generated from ``protos/wsgw``."""

    greeter: ModuleType
    greeter_pb2: ModuleType
    gateway: ModuleType
    wss: ModuleType
    wss_pb2: ModuleType


def generate(out: Path, patch: pytest.MonkeyPatch) -> Generated:
    """Generate the test protos into ``out`` and import them."""
    names = ("greeter", "gateway", "wss")
    generate_package(
        [PROTOS / "wsgw" / f"{name}.proto" for name in names],
        include=[PROTOS],
        out=out / "wsgw_gen",
    )
    patch.syspath_prepend(str(out))

    def load(name: str) -> ModuleType:
        return importlib.import_module(f"wsgw_gen.wsgw.{name}")

    return Generated(
        load("greeter_toolkit"),
        load("greeter_pb2"),
        load("gateway_toolkit"),
        load("wss_toolkit"),
        load("wss_pb2"),
    )


class Greeter:
    """The upstream: greets, echoes the metadata it got, and knows no one named "nobody"."""

    def __init__(self, messages: ModuleType) -> None:
        self._messages = messages

    async def say_hello(self, request: Any, context: RequestContext) -> Any:
        if request.name == "nobody":
            raise errors.NotFound(f"no one is called {request.name}")
        metadata = {k: v for k, v in context.metadata.items() if k.startswith("x-")}
        return self._messages.HelloReply(message=f"hello {request.name}", metadata=metadata)


class Router:
    """The WebSocket gateway's own method: answers the connection with its topic and caller."""

    def __init__(self, messages: ModuleType) -> None:
        self._messages = messages
        self.calls: list[tuple[str, str]] = []
        self.watched = 0
        self.watch_ended = asyncio.Event()

    async def subscribe(self, request: Any, context: RequestContext) -> Any:
        self.calls.append((request.topic, context.transport))
        if request.topic == "forbidden":
            raise errors.PermissionDenied("not for you")
        user = context.metadata.get("x-user", "")
        return self._messages.SubscribeResponse(topic=request.topic, user=user)

    async def watch(self, request: Any, context: RequestContext) -> AsyncIterator[Any]:
        """Events as fast as they can be made, each ``topic`` repeated to a large frame."""
        del context
        event = self._messages.SubscribeResponse(topic=request.topic * 65536)
        try:
            while True:
                self.watched += 1
                yield event
                await asyncio.sleep(0)
        finally:
            self.watch_ended.set()


def listen_locally(*servers: str) -> dict[str, str]:
    """The environment putting every named server on 127.0.0.1, port 0, with no probes server."""
    environ = {f"{PREFIX}_PROBES_SERVER_ENABLED": "false"}
    for server in servers:
        environ[f"{PREFIX}_{server}_LISTEN"] = "127.0.0.1"
        environ[f"{PREFIX}_{server}_PORT"] = "0"
    return environ


@asynccontextmanager
async def upstream(gen: Generated) -> AsyncIterator[dict[str, str]]:
    """The Greeter service running; yields the environment that points a gateway at it."""
    app: lbtoolkit.Service = gen.greeter.new_greeter_service(
        "greeter", env_prefix=PREFIX, environ=listen_locally("GREETER_GRPC_SERVER"), argv=[]
    )
    gen.greeter.register_greeter_rpc_server(app, lambda: Greeter(gen.greeter_pb2))
    async with open_service(app):
        yield {f"{PREFIX}_CLIENT_GREETER_TARGET": f"127.0.0.1:{app.server.grpc.port}"}
