"""The HTTP server: gRPC transcoding from ``google.api.http``, middlewares, CORS, drain.

Routes come from the ``ServiceSpec`` of each service (path templates, body
and query mapping, ``response_body``, ``additional_bindings``) and call the
same implementation as the gRPC server. See ``docs/http.md``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.server.http._config import HttpServerConfig
from lbtoolkit.server.http._errors import (
    HttpListenError,
    HttpRouteError,
    MiddlewareNotFoundError,
    PayloadTooLargeError,
    RequestTimeoutError,
    TranscodeError,
)
from lbtoolkit.server.http._middleware import (
    CallNext,
    Endpoint,
    Middleware,
    MiddlewareConstructor,
)
from lbtoolkit.server.http._server import HttpServer

__all__ = [
    "CallNext",
    "Endpoint",
    "HttpListenError",
    "HttpRouteError",
    "HttpServer",
    "HttpServerConfig",
    "Middleware",
    "MiddlewareConstructor",
    "MiddlewareNotFoundError",
    "PayloadTooLargeError",
    "RequestTimeoutError",
    "TranscodeError",
]

export(__name__, __all__)
