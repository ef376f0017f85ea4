"""The errors of the client: a call refused before the network, a misplaced interceptor."""

from __future__ import annotations

import grpc
import grpc.aio

from lbtoolkit._exceptions import LbToolkitError

__all__ = ["ClientCallError", "ClientInterceptorError"]


class ClientCallError(LbToolkitError, grpc.aio.AioRpcError):
    """A call to another service that was never sent.

    It is a ``grpc.aio.AioRpcError``, so code that handles failed calls
    handles it alike: ``code()`` is ``UNAVAILABLE`` when no resolver knows
    the service (``details()`` names it and every resolver asked), and
    ``DEADLINE_EXCEEDED`` when the request being served has no time left.
    """

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        grpc.aio.AioRpcError.__init__(self, code, None, None, details=details)

    def __str__(self) -> str:
        return f"{self.code().name}: {self.details()}"


class ClientInterceptorError(LbToolkitError, ValueError):
    """A client interceptor registered twice under one name, or after the first call."""
