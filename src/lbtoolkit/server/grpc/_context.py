"""The request context of a gRPC call, filled in only as far as someone reads it."""

from __future__ import annotations

from functools import partial
from typing import Any

import grpc.aio

from lbtoolkit.server._lazy_context import LazyRequestContext, new_lazy_context

__all__ = ["GrpcRequestContext", "grpc_context", "metadata_of"]

Context = grpc.aio.ServicerContext[Any, Any]


def metadata_of(context: Context) -> dict[str, str]:
    """The call's text metadata (keys are lower-case on the wire; ``-bin`` values stay out)."""
    pairs = context.invocation_metadata() or ()
    return {key: value for key, value in pairs if isinstance(value, str)}


class GrpcRequestContext(LazyRequestContext):
    """The context of a gRPC call: metadata read from grpc when first asked for.

    ``method``, ``peer`` (grpc's peer must be read while the call lives) and
    ``raw`` are set when built; ``scope`` comes on first read.
    """

    __slots__ = ()

    transport = "grpc"  # a constant in place of the field

    def _read_metadata(self) -> dict[str, str]:
        return metadata_of(self.raw)


# ``grpc_context(raw, method, raw.peer(), container)``: the context of one call
# of ``method``, its request scope entered from ``container``. grpc's peer must
# be read while the call lives, so it is read when the context is made. A
# partial, not a function around new_lazy_context: one Python call per call.
grpc_context = partial(new_lazy_context, GrpcRequestContext)
