"""Errors as HTTP answers: ``{"code": <http>, "status": "<text>", "message": "..."}``.

``code`` is the HTTP status, ``status`` its reason phrase (as the Go toolkit
writes them), ``message`` what the client may read. A status error's
``details`` are added under ``"details"`` when there are any.

- ``lbtoolkit.errors.StatusError``: its HTTP status and message;
- ``grpc.aio.AioRpcError`` (a failed call to another service): its code and details;
- ``grpc.aio.AbortError``: the code it carries, if any (``code``, as a
  ``grpc.StatusCode`` or a method returning one), else as below;
- the client hung up before its body arrived (``ClientDisconnect``): 499,
  which only the metrics see, logged at debug level;
- the body did not arrive within the read timeout: 408, and the connection closes;
- a plugin's server found unreachable (``lbtoolkit.tools.Outages``): 503
  naming the plugin, with ``Retry-After``, logged once per outage;
- any other exception: 500 with a generic message; the traceback goes to the
  log, never to the client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING

import grpc
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from lbtoolkit.errors import StatusError, http_status_of
from lbtoolkit.server.http._errors import (
    PayloadTooLargeError,
    RequestTimeoutError,
    TranscodeError,
)
from lbtoolkit.server.http._transcode import encode_json
from lbtoolkit.tools import Outages

if TYPE_CHECKING:
    from collections.abc import Mapping


__all__ = ["error_response", "json_error"]

_REASONS = {499: "Client Closed Request"}
_INTERNAL = "internal error"
_RETRY_LATER = {"retry-after": str(Outages.retry_after_seconds)}


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


def error_response(
    error: Exception, log: logging.Logger, where: str, outages: Outages | None = None
) -> Response:
    """The answer to an exception raised while serving ``where`` (a route or RPC)."""
    if isinstance(error, StatusError):
        return json_error(error.http_status, str(error), details=error.details)
    faulty = _faulty_request(error, log, where)
    if faulty is not None:
        return faulty
    if isinstance(error, grpc.aio.AioRpcError):
        code = error.code()
        return json_error(http_status_of(code), error.details() or _describe(code))
    if isinstance(error, grpc.aio.AbortError):
        carried = _carried(error, "code")
        if isinstance(carried, grpc.StatusCode):
            details = _carried(error, "details")
            return json_error(http_status_of(carried), str(details or _describe(carried)))
    outage = outages.report(error, where) if outages is not None else None
    if outage is not None:
        return json_error(503, outage.message, headers=_RETRY_LATER)
    log.error("unhandled error in %s", where, exc_info=error)
    return json_error(500, _INTERNAL)


def _faulty_request(error: Exception, log: logging.Logger, where: str) -> Response | None:
    """The answer to a request the client got wrong (its body, its size, its pace)."""
    if isinstance(error, TranscodeError):
        return json_error(400, str(error))
    if isinstance(error, PayloadTooLargeError):
        return json_error(413, str(error))
    if isinstance(error, RequestTimeoutError):
        # The rest of the body may still come: it must not be read as the next request.
        return json_error(408, str(error), headers={"connection": "close"})
    if isinstance(error, ClientDisconnect):
        # No one reads this answer; the metrics count it as 499.
        log.debug("client closed the request to %s before sending its body", where)
        return json_error(499, "client closed request")
    return None
