"""Status errors for handlers: raise ``NotFound(...)`` and both transports answer alike."""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.errors._status import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    StatusError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    http_status_of,
)

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

export(__name__, __all__)
