"""The demo service: a greeter that counts visits in Redis, over gRPC and HTTP.

``make demo`` runs it; Ctrl+C stops it. ``python -m greeter_demo help --all`` (from
``examples/demo``) lists every environment variable it reads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

import lbtoolkit
from greeter_demo.gen import greeter_pb2
from greeter_demo.gen.greeter_toolkit import (
    CachePlugin,
    new_greeter_service,
    register_greeter_rpc_server,
)
from lbtoolkit.errors import InvalidArgument
from lbtoolkit.server import RequestContext

GREETING_KEY = "demo:greeting"

# The demo listens on loopback unless told otherwise; a real deployment sets its own.
# Redis is the plugin's own default (127.0.0.1:6379), so DEMO_CACHE_HOST/PORT work too.
DEMO_DEFAULTS = {
    "DEMO_GREETER_GRPC_SERVER_LISTEN": "127.0.0.1",
    "DEMO_GREETER_SERVER_LISTEN": "127.0.0.1",
    "DEMO_PROBES_SERVER_LISTEN": "127.0.0.1",
}


class Greeter:
    """The ``GreeterRpcServer``: one implementation for gRPC and HTTP."""

    def __init__(self, cache: CachePlugin) -> None:
        self._redis = cache.client()

    async def say_hello(
        self,
        request: greeter_pb2.SayHelloRequest,
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> greeter_pb2.SayHelloResponse:
        if not request.name:
            raise InvalidArgument("name must not be empty")
        visits = await self._redis.incr(f"demo:visits:{request.name}")
        greeting = await self._redis.get(GREETING_KEY) or b"hello"
        word = greeting.decode() if isinstance(greeting, bytes) else str(greeting)
        return greeter_pb2.SayHelloResponse(message=f"{word}, {request.name}!", visits=visits)

    async def set_greeting(
        self,
        request: greeter_pb2.SetGreetingRequest,
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> greeter_pb2.SetGreetingResponse:
        previous = await self._redis.getset(GREETING_KEY, request.greeting)
        text = previous.decode() if isinstance(previous, bytes) else (previous or "hello")
        return greeter_pb2.SetGreetingResponse(previous=text)


def build(
    *, environ: Mapping[str, str] | None = None, argv: Sequence[str] | None = None
) -> lbtoolkit.Service:
    """The demo service, wired; ``run()`` it, or start it in a test with its own environment."""
    app = new_greeter_service(
        "greeter",
        version="0.1.0",
        description="lbtoolkit demo: a greeter",
        env_prefix="DEMO",
        environ=environ,
        argv=argv,
    )
    register_greeter_rpc_server(app, Greeter)
    return app


def main() -> int:
    # The process's own variables win over the demo's loopback defaults.
    app = build(environ={**DEMO_DEFAULTS, **os.environ})
    app.register_on_start_sync_hook(lambda: _print_addresses(app))
    return app.run()


def _print_addresses(app: lbtoolkit.Service) -> None:
    grpc_port = app.server.grpc.port
    http_port = app.server.http.port
    probes = app.server.probes
    lines = [
        "",
        "demo is running (Ctrl+C to stop)",
        f"  gRPC    127.0.0.1:{grpc_port}",
        f"  HTTP    http://127.0.0.1:{http_port}",
        f"  probes  http://127.0.0.1:{probes.port if probes else '-'}/_healthz/readiness",
        f"  metrics http://127.0.0.1:{probes.port if probes else '-'}/metrics",
        "",
        "try:",
        f"  curl http://127.0.0.1:{http_port}/v1/hello/world",
        f'  curl -X POST http://127.0.0.1:{http_port}/v1/greeting -d \'{{"greeting": "hi"}}\'',
        (
            "  cd examples/demo && ../../.venv/bin/python -m greeter_demo.call "
            f"127.0.0.1:{grpc_port} world"
        ),
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
