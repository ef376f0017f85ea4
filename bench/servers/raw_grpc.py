"""Baseline: a bare ``grpc.aio`` server, the handler registered as protoc's generated code does.

Usage: ``python -m bench.servers.raw_grpc PORT``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import grpc

from bench.servers.handlers import ping
from bench.servers.messages import pb
from bench.servers.profiling import install_signal_window


async def _ping(request: Any, _context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    return ping(request)


async def serve(port: int) -> None:
    server = grpc.aio.server()
    # What protoc's generated add_BenchServicer_to_server does.
    handlers = {
        "Ping": grpc.unary_unary_rpc_method_handler(
            _ping,
            request_deserializer=pb.PingRequest.FromString,
            response_serializer=pb.PingResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("benchsvc.Bench", handlers),)
    )
    server.add_registered_method_handlers("benchsvc.Bench", handlers)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.stop(5)


def main() -> None:
    install_signal_window()
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
