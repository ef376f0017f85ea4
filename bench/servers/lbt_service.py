"""lbtoolkit: the bench service as generated from ``bench/protos/bench_service.proto``.

Usage: ``python -m bench.servers.lbt_service`` with the ``LBB_*`` variables
(``--help`` prints them). The implementation is provided with
``app.server.set_service``, so dependency injection builds it.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from pydantic import BaseModel

from bench.servers.handlers import create_item, get_item, ping
from bench.servers.messages import pb
from bench.servers.profiling import install_signal_window
from bench.workers.modules import record_at_exit
from lbtoolkit import Scope
from lbtoolkit.config import env
from lbtoolkit.server import RequestContext

toolkit: Any = importlib.import_module("benchgen.bench_service_toolkit")


class BenchConfig(BaseModel):
    """A config of the service's own, injected into the implementation."""

    prefix: str = env("REPLY_PREFIX", default="", comment="Put before every Ping reply")


class RequestState:
    """A request-scoped dependency: one per call, built from an app-scoped one."""

    def __init__(self, config: BenchConfig) -> None:
        self.prefix = config.prefix

    def reply(self, message: str) -> str:
        return self.prefix + message


class Bench:
    """The implementation of ``BenchRpcServer``; its constructor is injected."""

    def __init__(self, config: BenchConfig) -> None:
        self._config = config

    # The signatures of the generated BenchRpcServer protocol.
    async def ping(self, request: Any, context: RequestContext) -> Any:  # noqa: ARG002
        return ping(request)

    async def ping_scoped(self, request: Any, context: RequestContext) -> Any:
        state = await context.get(RequestState)
        return pb.PingResponse(message=state.reply(request.message))

    async def ping_by_hand(self, request: Any, context: RequestContext) -> Any:  # noqa: ARG002
        state = RequestState(self._config)
        return pb.PingResponse(message=state.reply(request.message))

    async def create_item(self, request: Any, context: RequestContext) -> Any:  # noqa: ARG002
        return create_item(request)

    async def get_item(self, request: Any, context: RequestContext) -> Any:  # noqa: ARG002
        return get_item(request)


def build() -> Any:
    app = toolkit.new_bench_service(
        "bench", description="lbtoolkit benchmark service", env_prefix="LBB"
    )
    app.register_config(BenchConfig)
    app.provide(RequestState, scope=Scope.REQUEST)
    app.server.set_service(Bench)
    return app


def main() -> int:
    record_at_exit()
    app = build()
    install_signal_window()
    code: int = app.run()
    return code


if __name__ == "__main__":
    sys.exit(main())
