"""The HTTP server: gRPC transcoding from ``google.api.http``, middlewares, CORS, drain.

Routes come from the ``ServiceSpec`` of each service (path templates, body
and query mapping, ``response_body``, ``additional_bindings``) and call the
same implementation as the gRPC server. See ``docs/http.md``.
"""

from __future__ import annotations

from lbtoolkit.server.http._config import HttpServerConfig
from lbtoolkit.server.http._errors import (
    HttpListenError,
    HttpRouteError,
    MiddlewareNotFoundError,
    PathTemplateError,
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
from lbtoolkit.server.http._template import parse_template

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
    "PathTemplateError",
    "PayloadTooLargeError",
    "RequestTimeoutError",
    "TranscodeError",
    "parse_template",
]

# Tracebacks and reprs show the public path, not the private module (pydantic
# models keep theirs: pydantic resolves annotations through it).
for _name in (
    "HttpListenError",
    "HttpRouteError",
    "HttpServer",
    "MiddlewareNotFoundError",
    "PathTemplateError",
    "PayloadTooLargeError",
    "RequestTimeoutError",
    "TranscodeError",
    "parse_template",
):
    globals()[_name].__module__ = __name__
del _name
