"""lbtoolkit: the service of ``bench/protos/bench_validation.proto``, HTTP only.

Usage: ``python -m bench.servers.lbt_validation`` with the ``LBV_*`` variables
(``--help`` prints them); ``LBV_VALIDATION_ENABLED`` decides whether requests
are checked against their rules. The validation scenario generates the
package ``benchvalid`` before it starts this module.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from bench.servers.profiling import install_signal_window
from lbtoolkit.server import RequestContext

__all__ = ["ENV_PREFIX", "PACKAGE", "SERVICE_NAME"]

PACKAGE = "benchvalid"
SERVICE_NAME = "bench"
ENV_PREFIX = "LBV"


class BenchValidation:
    """The implementation of ``BenchValidationRpcServer``: echo the request as a user."""

    def __init__(self) -> None:
        self._pb: Any = importlib.import_module(f"{PACKAGE}.bench_validation_pb2")

    async def create_user(self, request: Any, context: RequestContext) -> Any:  # noqa: ARG002
        return self._pb.User(
            id=request.request_id,
            name=request.name,
            email=request.email,
            age=request.age,
            tags=request.tags,
        )


def build() -> Any:
    toolkit: Any = importlib.import_module(f"{PACKAGE}.bench_validation_toolkit")
    app = toolkit.new_bench_validation_service(
        SERVICE_NAME, description="lbtoolkit validation benchmark service", env_prefix=ENV_PREFIX
    )
    app.server.set_service(BenchValidation)
    return app


def main() -> int:
    app = build()
    install_signal_window()
    code: int = app.run()
    return code


if __name__ == "__main__":
    sys.exit(main())
