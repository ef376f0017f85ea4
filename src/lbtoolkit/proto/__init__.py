"""The proto include tree lbtoolkit ships, and the modules compiled from it.

``toolkit/options/annotations.proto`` holds the toolkit options (the Go
toolkit's package, messages and extension numbers); the Go toolkit's import
path ``github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/
annotations.proto`` re-exports it. ``google/api`` comes from
googleapis-common-protos, ``validate/validate.proto`` from protoc-gen-validate,
``buf/validate/validate.proto`` from protovalidate (its serialized descriptor,
compiled here into ``lbtoolkit.proto.buf.validate.validate_pb2``) and
``protoc-gen-openapiv2/options`` from protoc-gen-openapiv2 when installed.

The compiled options are ``lbtoolkit.proto.toolkit.options.annotations_pb2``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.proto._includes import (
    BUF_VALIDATE_PROTO,
    GO_OPTIONS_PROTO,
    OPTIONS_PROTO,
    PROTO_ROOT,
    SHIPPED_MODULES,
    VALIDATE_PROTO,
    descriptor_set,
    include_paths,
    protoc_module,
    python_module,
)

__all__ = [
    "BUF_VALIDATE_PROTO",
    "GO_OPTIONS_PROTO",
    "OPTIONS_PROTO",
    "PROTO_ROOT",
    "SHIPPED_MODULES",
    "VALIDATE_PROTO",
    "descriptor_set",
    "include_paths",
    "protoc_module",
    "python_module",
]

export(__name__, __all__)
