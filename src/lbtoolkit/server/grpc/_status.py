"""Errors raised by implementations, turned into gRPC statuses.

``lbtoolkit.errors`` status errors answer with their code and message (their
``details`` travel as a ``google.rpc.ErrorInfo`` in ``grpc-status-details-bin``,
as grpcio-status reads them); an abort through the gRPC context keeps its
status; a plugin's server found unreachable (see ``lbtoolkit.tools.Outages``)
answers UNAVAILABLE naming the plugin, with ``retry-after`` (seconds) and
``grpc-retry-pushback-ms`` trailers, and is logged once per outage; anything
else is a bug: the client gets INTERNAL with a generic message and a
reference, the log gets the traceback under the same reference.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import grpc
import grpc.aio

from lbtoolkit.errors import StatusError
from lbtoolkit.tools import Outages

__all__ = ["Failure", "failure_of"]

log = logging.getLogger("lbtoolkit.server.grpc")

Trailers = tuple[tuple[str, str | bytes], ...]

# The HTTP header's name and meaning, and gRPC's own retry pushback for clients with a retry policy.
_RETRY_LATER: Trailers = (
    ("retry-after", str(Outages.retry_after_seconds)),
    ("grpc-retry-pushback-ms", str(Outages.retry_after_seconds * 1000)),
)


@dataclass(frozen=True, slots=True)
class Failure:
    """The status to answer with: ``abort`` false when the error already sent it."""

    code: grpc.StatusCode
    message: str = ""
    trailers: Trailers = ()
    abort: bool = True


def failure_of(
    error: Exception,
    method: str,
    context: grpc.aio.ServicerContext[object, object],
    outages: Outages | None = None,
) -> Failure:
    """The status that answers ``error`` raised by the implementation of ``method``."""
    if isinstance(error, grpc.aio.AbortError):
        return Failure(context.code(), abort=False)
    if isinstance(error, StatusError):
        trailers = _details(error) if error.details or error.detail_messages else ()
        return Failure(error.code, str(error), trailers)
    outage = outages.report(error, method) if outages is not None else None
    if outage is not None:
        return Failure(grpc.StatusCode.UNAVAILABLE, outage.message, _RETRY_LATER)
    reference = uuid.uuid4().hex[:12]
    log.error("%s raised an unexpected error (ref %s)", method, reference, exc_info=error)
    return Failure(grpc.StatusCode.INTERNAL, f"internal error (ref {reference})")


def _details(error: StatusError) -> Trailers:
    # Only errors carrying details pay for building the rich status.
    from google.protobuf.any_pb2 import Any  # noqa: PLC0415
    from google.rpc import (  # type: ignore[import-untyped]  # noqa: PLC0415
        error_details_pb2,
        status_pb2,
    )

    carried = list(error.detail_messages)
    if error.details:
        carried.insert(
            0, error_details_pb2.ErrorInfo(reason=error.code.name, metadata=error.details)
        )
    packed = []
    for message in carried:
        detail = Any()
        detail.Pack(message)
        packed.append(detail)
    status = status_pb2.Status(code=error.code.value[0], message=str(error), details=packed)
    return (("grpc-status-details-bin", status.SerializeToString()),)
