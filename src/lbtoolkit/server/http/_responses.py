"""Errors as HTTP answers: ``{"code": <http>, "status": "<text>", "message": "..."}``.

``code`` is the HTTP status, ``status`` its reason phrase (as the Go toolkit
writes them), ``message`` what the client may read. A status error's
``details`` are added under ``"details"`` when there are any.

- ``lbtoolkit.errors.StatusError``: its HTTP status and message;
- ``grpc.aio.AioRpcError`` (a failed call to another service): its code and details;
- ``grpc.aio.AbortError``: the code it carries, if any (``code``, as a
  ``grpc.StatusCode`` or a method returning one), else as below;
- any other exception: 500 with a generic message; the traceback goes to the
  log, never to the client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING

import grpc
from starlette.responses import Response

from lbtoolkit.errors import StatusError, http_status_of
from lbtoolkit.server.http._errors import PayloadTooLargeError, TranscodeError
from lbtoolkit.server.http._transcode import encode_json

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["error_response", "json_error"]

_REASONS = {499: "Client Closed Request"}
_INTERNAL = "internal error"


def json_error(
    status: int,
    message: str,
    *,
    details: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error answer in the toolkit's JSON shape."""
    body: dict[str, object] = {"code": status, "status": _reason(status), "message": message}
    if details:
        body["details"] = dict(details)
    return Response(
        encode_json(body).encode(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _REASONS.get(status, "Unknown")


def _carried(error: Exception, name: str) -> object:
    value = getattr(error, name, None)
    return value() if callable(value) else value


def _describe(code: grpc.StatusCode) -> str:
    return code.name.lower().replace("_", " ")


def error_response(error: Exception, log: logging.Logger, where: str) -> Response:
    """The answer to an exception raised while serving ``where`` (a route or RPC)."""
    if isinstance(error, StatusError):
        return json_error(error.http_status, str(error), details=error.details)
    if isinstance(error, TranscodeError):
        return json_error(400, str(error))
    if isinstance(error, PayloadTooLargeError):
        return json_error(413, str(error))
    if isinstance(error, grpc.aio.AioRpcError):
        code = error.code()
        return json_error(http_status_of(code), error.details() or _describe(code))
    if isinstance(error, grpc.aio.AbortError):
        carried = _carried(error, "code")
        if isinstance(carried, grpc.StatusCode):
            details = _carried(error, "details")
            return json_error(http_status_of(carried), str(details or _describe(carried)))
    log.error("unhandled error in %s", where, exc_info=error)
    return json_error(500, _INTERNAL)
