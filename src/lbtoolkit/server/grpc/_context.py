"""The request context of a gRPC call, filled in only as far as someone reads it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import grpc.aio

from lbtoolkit.server._lazy_context import LazyRequestContext, new_lazy_context

if TYPE_CHECKING:
    from dishka import AsyncContainer

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

    __slots__ = ("_metadata",)
    _metadata: Mapping[str, str]

    transport = "grpc"  # a constant in place of the field

    @property  # read-only, as the frozen field is
    def metadata(self) -> Mapping[str, str]:
        try:
            return self._metadata
        except AttributeError:  # first read: the slot is left empty when built
            metadata = MappingProxyType(metadata_of(self.raw))
            _set_metadata(self, metadata)
            return metadata


_set_metadata = GrpcRequestContext.__dict__["_metadata"].__set__


def grpc_context(raw: Context, method: str, container: AsyncContainer) -> GrpcRequestContext:
    """The context of one call of ``method``; its request scope is entered from ``container``."""
    return new_lazy_context(GrpcRequestContext, raw, method, raw.peer(), container)
