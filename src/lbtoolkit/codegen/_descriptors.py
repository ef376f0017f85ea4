"""Lookups over the descriptors of one generation: messages, services, comments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from google.protobuf import descriptor_pb2

__all__ = ["DescriptorIndex", "MessageInfo", "ServiceInfo"]

# Field numbers inside FileDescriptorProto / ServiceDescriptorProto, the steps
# of a SourceCodeInfo location path.
_SERVICE_PATH = 6
_METHOD_PATH = 2
# Banner lines (``// =====``) frame sections of a .proto file; they say nothing.
_RULER = re.compile(r"^\s*[-=*#/~_+]{3,}\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A message type: its proto file and its name inside the Python module."""

    full_name: str
    proto_file: str
    qualname: str
    descriptor: descriptor_pb2.DescriptorProto

    def field(self, name: str) -> descriptor_pb2.FieldDescriptorProto | None:
        for field in self.descriptor.field:
            if field.name == name:
                return field
        return None


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    full_name: str
    package: str
    proto_file: str
    index: int
    descriptor: descriptor_pb2.ServiceDescriptorProto


class DescriptorIndex:
    """Every file of a ``CodeGeneratorRequest``, searchable by type name."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> None:
        self.files = {file.name: file for file in files}
        self._messages: dict[str, MessageInfo] = {}
        self._services: list[ServiceInfo] = []
        self._comments: dict[str, dict[tuple[int, ...], str]] = {}
        for file in self.files.values():
            prefix = f"{file.package}." if file.package else ""
            self._add_messages(file.name, prefix, "", file.message_type)
            for index, service in enumerate(file.service):
                full_name = prefix + service.name
                self._services.append(
                    ServiceInfo(full_name, file.package, file.name, index, service)
                )

    def _add_messages(
        self,
        proto_file: str,
        prefix: str,
        outer: str,
        messages: Iterable[descriptor_pb2.DescriptorProto],
    ) -> None:
        for message in messages:
            qualname = f"{outer}.{message.name}" if outer else message.name
            self._messages[prefix + qualname] = MessageInfo(
                prefix + qualname, proto_file, qualname, message
            )
            self._add_messages(proto_file, prefix, qualname, message.nested_type)

    def message(self, type_name: str) -> MessageInfo:
        """The message of a fully qualified type name (``.pkg.Msg`` or ``pkg.Msg``)."""
        return self._messages[type_name.removeprefix(".")]

    @property
    def services(self) -> tuple[ServiceInfo, ...]:
        return tuple(self._services)

    def method_comment(self, proto_file: str, service: int, method: int) -> str:
        """The comment written above a method, if any."""
        return self._comment(proto_file, (_SERVICE_PATH, service, _METHOD_PATH, method))

    def service_comment(self, proto_file: str, service: int) -> str:
        return self._comment(proto_file, (_SERVICE_PATH, service))

    def _comment(self, proto_file: str, path: tuple[int, ...]) -> str:
        comments = self._comments.get(proto_file)
        if comments is None:
            info = self.files[proto_file].source_code_info
            comments = {
                tuple(location.path): text
                for location in info.location
                if (text := _clean(location.leading_comments))
            }
            self._comments[proto_file] = comments
        return comments.get(path, "")


def _clean(comment: str) -> str:
    return _RULER.sub("", comment).strip()
