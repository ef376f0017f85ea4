"""Errors as HTTP answers, in grpc-gateway's shape.

``{"code": 5, "message": "...", "details": [...], "status": "Not Found"}``:
``code`` is the gRPC status code (a number, as ``google.rpc.Status`` has it),
``message`` what the client may read, ``details`` a list of
``google.protobuf.Any`` messages in their JSON form (always there, ``[]`` when
empty, as grpc-gateway writes it), ``status`` the reason phrase of the HTTP
status, which the status line carries.

- ``lbtoolkit.errors.StatusError``: its code, HTTP status and message; its
  ``details`` as a ``google.rpc.ErrorInfo`` (as gRPC sends them), then its
  ``detail_messages``;
- ``grpc.aio.AioRpcError`` (a failed call to another service): its code and details;
- ``grpc.aio.AbortError``: the code it carries, if any (``code``, as a
  ``grpc.StatusCode`` or a method returning one), else as below;
- a request that cannot become the request message: 400 INVALID_ARGUMENT,
  with a ``google.rpc.BadRequest`` naming the field when there is one;
- the client hung up before its body arrived (``ClientDisconnect``): 499,
  which only the metrics see, logged at debug level;
- the body did not arrive within the read timeout: 408, and the connection closes;
- a plugin's server found unreachable (``lbtoolkit.tools.Outages``): 503
  naming the plugin, with ``Retry-After``, logged once per outage;
- any other exception: 500 with a generic message; the traceback goes to the
  log, never to the client.
"""

from __future__ import annotations

import base64
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

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
    from collections.abc import Iterable, Mapping, Sequence

    from google.protobuf.message import Message


__all__ = [
    "any_details",
    "bad_request_details",
    "code_of_status",
    "error_body",
    "error_response",
    "json_error",
    "status_error_details",
]

_REASONS = {499: "Client Closed Request"}
_INTERNAL = "internal error"
_RETRY_LATER = {"retry-after": str(Outages.retry_after_seconds)}
_CODES = grpc.StatusCode

# The gRPC code of an answer that no status error chose, by its HTTP status:
# the code grpc-gateway gives the same situation (404 NOT_FOUND and 405
# UNIMPLEMENTED for routing, 400 INVALID_ARGUMENT for a bad request), else the
# code the standard mapping sends to that status.
_CODE_OF_STATUS: dict[int, grpc.StatusCode] = {
    400: _CODES.INVALID_ARGUMENT,
    401: _CODES.UNAUTHENTICATED,
    403: _CODES.PERMISSION_DENIED,
    404: _CODES.NOT_FOUND,
    405: _CODES.UNIMPLEMENTED,
    408: _CODES.DEADLINE_EXCEEDED,
    409: _CODES.ABORTED,
    # gRPC refuses a message over the receiver's size limit with RESOURCE_EXHAUSTED.
    413: _CODES.RESOURCE_EXHAUSTED,
    414: _CODES.RESOURCE_EXHAUSTED,
    429: _CODES.RESOURCE_EXHAUSTED,
    431: _CODES.RESOURCE_EXHAUSTED,
    499: _CODES.CANCELLED,
    500: _CODES.INTERNAL,
    501: _CODES.UNIMPLEMENTED,
    503: _CODES.UNAVAILABLE,
    504: _CODES.DEADLINE_EXCEEDED,
}


def code_of_status(status: int) -> grpc.StatusCode:
    """The gRPC code an error answer with HTTP ``status`` carries when nothing chose one."""
    code = _CODE_OF_STATUS.get(status)
    if code is not None:
        return code
    return _CODES.INVALID_ARGUMENT if status < 500 else _CODES.UNKNOWN  # noqa: PLR2004


def json_error(
    status: int,
    message: str,
    *,
    code: grpc.StatusCode | None = None,
    details: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error answer in grpc-gateway's JSON shape (see the module's documentation).

    ``code`` defaults to the one that goes with ``status``; ``details`` are
    JSON forms of ``google.protobuf.Any`` messages (:func:`any_details`).
    """
    return Response(
        error_body(status, message, code=code, details=details),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_body(
    status: int,
    message: str,
    *,
    code: grpc.StatusCode | None = None,
    details: Sequence[Mapping[str, Any]] = (),
) -> bytes:
    """The JSON body of an error answer: for servers that write the response themselves."""
    number = (code or code_of_status(status)).value[0]
    body = {"code": number, "message": message, "details": list(details), "status": _reason(status)}
    return encode_json(body).encode()


def any_details(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Messages as the JSON form of ``google.protobuf.Any`` (``{"@type": ..., ...}``)."""
    # Loaded only when an error carries details.
    from google.protobuf import json_format  # noqa: PLC0415
    from google.protobuf.any_pb2 import Any as AnyMessage  # noqa: PLC0415

    rendered = []
    for message in messages:
        packed = AnyMessage()
        packed.Pack(message)
        rendered.append(json_format.MessageToDict(packed))
    return rendered


def status_error_details(error: StatusError) -> list[dict[str, Any]]:
    """A status error's details as gRPC sends them: its ErrorInfo, then its detail messages."""
    if not error.details and not error.detail_messages:
        return []
    carried = list(error.detail_messages)
    if error.details:
        from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # noqa: PLC0415

        info = error_details_pb2.ErrorInfo(reason=error.code.name, metadata=error.details)
        carried.insert(0, info)
    return any_details(carried)


def bad_request_details(field: str, description: str) -> list[dict[str, Any]]:
    """A ``google.rpc.BadRequest`` naming one field, as validation errors carry it."""
    from google.rpc import error_details_pb2  # noqa: PLC0415

    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
    return any_details([error_details_pb2.BadRequest(field_violations=[violation])])


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _REASONS.get(status, "Unknown")


def _remote_details(trailers: Iterable[tuple[str, object]] | None) -> list[dict[str, Any]]:
    """The details of another service's rich status (``grpc-status-details-bin``), passed on."""
    packed = next((v for k, v in trailers or () if k == "grpc-status-details-bin"), None)
    if not isinstance(packed, bytes):
        return []
    from google.protobuf import json_format  # noqa: PLC0415
    from google.protobuf.message import DecodeError  # noqa: PLC0415
    from google.rpc import status_pb2  # noqa: PLC0415

    try:
        status = status_pb2.Status.FromString(packed)
    except DecodeError:
        return []
    rendered = []
    for detail in status.details:
        try:
            rendered.append(json_format.MessageToDict(detail))
        except (TypeError, KeyError, ValueError):
            # A type this process does not know: its name and its bytes, in base64.
            value = base64.b64encode(detail.value).decode("ascii")
            rendered.append({"@type": detail.type_url, "value": value})
    return rendered


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
        details = status_error_details(error)
        return json_error(error.http_status, str(error), code=error.code, details=details)
    faulty = _faulty_request(error, log, where)
    if faulty is not None:
        return faulty
    if isinstance(error, grpc.aio.AioRpcError):
        code = error.code()
        message = error.details() or _describe(code)
        details = _remote_details(error.trailing_metadata())
        return json_error(http_status_of(code), message, code=code, details=details)
    if isinstance(error, grpc.aio.AbortError):
        carried = _carried(error, "code")
        if isinstance(carried, grpc.StatusCode):
            text = _carried(error, "details")
            message = str(text or _describe(carried))
            return json_error(http_status_of(carried), message, code=carried)
    outage = outages.report(error, where) if outages is not None else None
    if outage is not None:
        return json_error(503, outage.message, headers=_RETRY_LATER)
    log.error("unhandled error in %s", where, exc_info=error)
    return json_error(500, _INTERNAL)


def _faulty_request(error: Exception, log: logging.Logger, where: str) -> Response | None:
    """The answer to a request the client got wrong (its body, its size, its pace)."""
    if isinstance(error, TranscodeError):
        details = bad_request_details(error.field, error.detail) if error.field else []
        return json_error(400, str(error), details=details)
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
