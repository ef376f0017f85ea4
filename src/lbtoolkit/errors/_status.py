"""Errors a handler raises to answer with a status, the same on gRPC and HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import grpc

from lbtoolkit._exceptions import LbToolkitError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from google.protobuf.message import Message

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "StatusError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "http_status_of",
]

# The standard gRPC -> HTTP mapping (google.rpc.Code documentation, as grpc-gateway applies it).
_HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


def http_status_of(code: grpc.StatusCode) -> int:
    """The HTTP status that stands for a gRPC status code."""
    return _HTTP_STATUS[code]


class StatusError(LbToolkitError):
    """Raise one of its subclasses in a handler to answer with that status.

    The message goes to the client as is: put nothing secret in it.
    """

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str = "",
        *,
        details: dict[str, str] | None = None,
        detail_messages: Iterable[Message] = (),
    ) -> None:
        """``details`` travel as a ``google.rpc.ErrorInfo``'s metadata;
        ``detail_messages`` (``google.rpc.BadRequest``, ``RetryInfo``, ...) as
        further entries of the status details, on gRPC and HTTP alike.
        """
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})
        self.detail_messages = tuple(detail_messages)

    @property
    def http_status(self) -> int:
        return http_status_of(self.code)

    def __str__(self) -> str:
        return self.message or self.code.name.lower().replace("_", " ")


class Cancelled(StatusError):
    code = grpc.StatusCode.CANCELLED


class Unknown(StatusError):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(StatusError, ValueError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(StatusError, TimeoutError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(StatusError, LookupError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(StatusError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(StatusError, PermissionError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(StatusError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(StatusError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(StatusError):
    code = grpc.StatusCode.ABORTED


class OutOfRange(StatusError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(StatusError, NotImplementedError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(StatusError, RuntimeError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(StatusError, ConnectionError):
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(StatusError):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(StatusError):
    code = grpc.StatusCode.UNAUTHENTICATED
