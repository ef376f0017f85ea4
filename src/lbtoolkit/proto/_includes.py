"""Where protoc finds the protos lbtoolkit provides, and their Python modules.

Third-party protos are taken from the installed packages rather than copied:
googleapis-common-protos ships ``google/api/*.proto`` as source; packages that
ship only compiled modules (protoc-gen-openapiv2, and our compiled copy of
protoc-gen-validate's ``validate.proto`` and of protovalidate's
``buf/validate/validate.proto``) are handed to protoc as descriptors through
``--descriptor_set_in``, which protoc consults after the include paths.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pb2

if TYPE_CHECKING:
    from collections.abc import Mapping

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

PROTO_ROOT = Path(__file__).resolve().parent

OPTIONS_PROTO = "toolkit/options/annotations.proto"
GO_OPTIONS_PROTO = (
    "github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/annotations.proto"
)
VALIDATE_PROTO = "validate/validate.proto"
BUF_VALIDATE_PROTO = "buf/validate/validate.proto"

# protoc's Python generator names modules after the file path; for these files
# that name is unimportable (``github.com``) or not installed (``validate``,
# ``buf.validate``: protovalidate ships its own, non-google.protobuf, module),
# so imports of them are rewritten to the modules compiled into this package.
SHIPPED_MODULES: Mapping[str, str] = MappingProxyType(
    {
        OPTIONS_PROTO: "lbtoolkit.proto.toolkit.options.annotations_pb2",
        GO_OPTIONS_PROTO: "lbtoolkit.proto.toolkit.options.go_annotations_pb2",
        VALIDATE_PROTO: "lbtoolkit.proto.validate.validate_pb2",
        BUF_VALIDATE_PROTO: "lbtoolkit.proto.buf.validate.validate_pb2",
    }
)

# Modules whose descriptors protoc reads through --descriptor_set_in; the
# optional ones belong to packages a service may not install.
_DESCRIPTOR_MODULES = (
    ("lbtoolkit.proto.validate.validate_pb2", True),
    ("lbtoolkit.proto.buf.validate.validate_pb2", True),
    ("protoc_gen_openapiv2.options.openapiv2_pb2", False),
    ("protoc_gen_openapiv2.options.annotations_pb2", False),
)


def protoc_module(proto_name: str) -> str:
    """The module protoc's Python generator names for ``proto_name``."""
    stem = proto_name.removesuffix(".proto").replace("-", "_")
    return stem.replace("/", ".") + "_pb2"


def python_module(proto_name: str) -> str:
    """The module to import for ``proto_name``: ours for the shipped files."""
    return SHIPPED_MODULES.get(proto_name) or protoc_module(proto_name)


def include_paths() -> tuple[Path, ...]:
    """The ``-I`` directories: this tree, protobuf's well-known types, googleapis."""
    return (PROTO_ROOT, _package_dir("grpc_tools") / "_proto", _googleapis_root())


def descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """Descriptors of the protos whose packages ship compiled modules only."""
    result = descriptor_pb2.FileDescriptorSet()
    for name, required in _DESCRIPTOR_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            if required:
                raise
            continue
        result.file.add().MergeFromString(module.DESCRIPTOR.serialized_pb)
    return result


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        msg = f"package {name} is not installed"
        raise ImportError(msg)
    return Path(next(iter(spec.submodule_search_locations)))


def _googleapis_root() -> Path:
    # google/api/annotations.proto sits beside its compiled module.
    return _package_dir("google.api").parent.parent
