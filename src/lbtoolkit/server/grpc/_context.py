"""The request context of a gRPC call, filled in only as far as someone reads it."""

from __future__ import annotations

from typing import Any

import grpc.aio

from lbtoolkit.server._lazy_context import LazyRequestContext

__all__ = ["GrpcRequestContext", "metadata_of"]

Context = grpc.aio.ServicerContext[Any, Any]


def metadata_of(context: Context) -> dict[str, str]:
    """The call's text metadata (keys are lower-case on the wire; ``-bin`` values stay out)."""
    pairs = context.invocation_metadata() or ()
    return {key: value for key, value in pairs if isinstance(value, str)}


class GrpcRequestContext(LazyRequestContext):
    """The context of a gRPC call: metadata read from grpc when first asked for.

    Each method has its own subclass (``method_context_type``) holding the
    method and the container; a call sets ``raw`` and ``peer`` (grpc's peer
    must be read while the call lives), and ``scope`` comes on first read.
    """

    __slots__ = ()

    transport = "grpc"  # a constant in place of the field

    def _read_metadata(self) -> dict[str, str]:
        return metadata_of(self.raw)
