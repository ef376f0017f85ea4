"""The gRPC transport: ``app.server.grpc``.

Declared services are served on ``grpc.aio`` with the standard health
service, optional reflection and TLS; errors raised by implementations map
to gRPC statuses; every call is counted, timed and (when configured) traced.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.server.grpc._config import GrpcServerConfig
from lbtoolkit.server.grpc._health import HealthService
from lbtoolkit.server.grpc._interceptors import Handler, Interceptor
from lbtoolkit.server.grpc._server import GrpcServer

__all__ = ["GrpcServer", "GrpcServerConfig", "Handler", "HealthService", "Interceptor"]

export(__name__, __all__)
