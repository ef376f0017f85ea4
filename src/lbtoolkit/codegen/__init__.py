"""Code generation from .proto files: the toolkit modules and ``lbtoolkit generate``.

``generate`` turns a ``CodeGeneratorRequest`` into ``<file>_toolkit.py``
modules (plugin Protocols, service constructors, ``RpcServer`` Protocols,
route tables, clients, mocks); ``protoc-gen-lbtoolkit`` and
``generate_package`` both call it. Plugins named in the .proto files are
found through the entry-point group ``lbtoolkit.plugins``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.codegen._errors import (
    CodegenError,
    DuplicatePrefixError,
    HttpRuleError,
    InvalidPrefixError,
    PrefixConflictError,
    ProtocError,
    UnknownPluginError,
    UnknownServiceError,
    UnsupportedValidationRuleError,
    ValidationNeedsGenerateError,
)
from lbtoolkit.codegen._generator import generate
from lbtoolkit.codegen._plugins import ENTRY_POINT_GROUP
from lbtoolkit.codegen._project import GeneratedFile, GenerateResult, generate_package

__all__ = [
    "ENTRY_POINT_GROUP",
    "CodegenError",
    "DuplicatePrefixError",
    "GenerateResult",
    "GeneratedFile",
    "HttpRuleError",
    "InvalidPrefixError",
    "PrefixConflictError",
    "ProtocError",
    "UnknownPluginError",
    "UnknownServiceError",
    "UnsupportedValidationRuleError",
    "ValidationNeedsGenerateError",
    "generate",
    "generate_package",
]

export(__name__, __all__)
