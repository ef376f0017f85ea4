"""Peer: ``Ping`` on grpclib, the pure-Python gRPC server, its handler mapped as its generator does.

Usage: ``python -m bench.servers.peer_grpclib PORT``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from grpclib.const import Cardinality, Handler
from grpclib.server import Server, Stream

from bench.servers.handlers import ping
from bench.servers.messages import pb


class Bench:
    """What ``protoc --grpclib_python_out`` generates: the method table of the service."""

    async def ping(self, stream: Stream[Any, Any]) -> None:
        request = await stream.recv_message()
        await stream.send_message(ping(request))

    def __mapping__(self) -> dict[str, Handler]:
        return {
            "/benchsvc.Bench/Ping": Handler(
                self.ping, Cardinality.UNARY_UNARY, pb.PingRequest, pb.PingResponse
            )
        }


async def serve(port: int) -> None:
    server = Server([Bench()])
    await server.start("127.0.0.1", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
