"""Errors found while generating code; each names the proto file and the option."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError

__all__ = [
    "CodegenError",
    "DuplicatePrefixError",
    "HttpRuleError",
    "InvalidPrefixError",
    "PrefixConflictError",
    "ProtocError",
    "UnknownPluginError",
    "UnknownServiceError",
    "UnsupportedValidationRuleError",
    "ValidationNeedsGenerateError",
]


class CodegenError(LbToolkitError, ValueError):
    """A .proto file asks for something the generator cannot produce.

    ``where`` narrows the place inside the file (``service MyService``,
    ``method MyService.Get``); ``option`` is the option as written in the file
    (empty when the problem is no option's).
    """

    def __init__(self, proto_file: str, option: str, problem: str, *, where: str = "") -> None:
        super().__init__(proto_file, option, problem)
        self.proto_file = proto_file
        self.option = option
        self.problem = problem
        self.where = where

    def __str__(self) -> str:
        place = f"{self.proto_file}: {self.where}" if self.where else self.proto_file
        option = f" option {self.option}:" if self.option else ""
        return f"{place}:{option} {self.problem}"


class UnknownPluginError(CodegenError, LookupError):
    """No installed package provides the plugin named in the .proto file."""


class DuplicatePrefixError(CodegenError):
    """The same plugin instance (prefix and plugin) is declared twice."""


class PrefixConflictError(CodegenError):
    """One prefix names instances of two different plugin types."""


class InvalidPrefixError(CodegenError):
    """A prefix cannot name a Python identifier or an environment variable."""


class HttpRuleError(CodegenError):
    """A ``google.api.http`` rule the toolkit cannot route."""


class UnknownServiceError(CodegenError, LookupError):
    """``option (toolkit.services)`` names a service no imported file defines."""


class UnsupportedValidationRuleError(CodegenError):
    """A protoc-gen-validate rule that has no protovalidate (``buf.validate``) equivalent."""


class ValidationNeedsGenerateError(CodegenError):
    """protoc-gen-validate rules met by the protoc plugin, which cannot translate them.

    Only ``lbtoolkit generate`` rewrites them into ``buf.validate`` rules
    before protoc's Python output is written.
    """


class ProtocError(LbToolkitError, RuntimeError):
    """protoc rejected the input; ``messages`` is what it printed."""

    def __init__(self, messages: str) -> None:
        super().__init__(messages)
        self.messages = messages

    @property
    def hint(self) -> str:
        """What to install when a well-known import was not found."""
        for prefix, package in _PACKAGES_OF_IMPORTS.items():
            if prefix in self.messages and "File not found" in self.messages:
                return f"Hint: {prefix}... ships with {package}: pip install {package}"
        return ""

    def __str__(self) -> str:
        text = f"protoc failed:\n{self.messages.rstrip()}"
        return f"{text}\n{self.hint}" if self.hint else text


# Imports the include tree resolves only while their package is installed.
_PACKAGES_OF_IMPORTS = {"protoc-gen-openapiv2/": "protoc-gen-openapiv2"}
