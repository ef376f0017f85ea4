"""What one .proto file asks for: the model the renderers format.

Built and checked by ``_build``; every check that can fail happens there, so
an error names the file and the option before any code is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lbtoolkit.codegen._names import camel, constant, python_name, snake

if TYPE_CHECKING:
    from lbtoolkit.codegen._descriptors import MessageInfo
    from lbtoolkit.codegen._plugins import PluginModule
    from lbtoolkit.spec import HttpRule

__all__ = ["Client", "FileModel", "Method", "PluginInstance", "Service"]


@dataclass(frozen=True, slots=True)
class PluginInstance:
    prefix: str
    plugin: str
    module: PluginModule
    option: str
    where: str = ""

    @property
    def protocol(self) -> str:
        return camel(self.prefix) + "Plugin"

    @property
    def variable(self) -> str:
        return f"plugin_{self.prefix}"

    @property
    def as_function(self) -> str:
        """The generated function naming a plugin object as this instance."""
        return f"as_{self.prefix}_plugin"

    @property
    def declared(self) -> str:
        return f"option {self.option}" + (f" of {self.where}" if self.where else "")


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    grpc_path: str
    request: MessageInfo
    response: MessageInfo
    client_streaming: bool
    server_streaming: bool
    rules: tuple[HttpRule, ...]
    middlewares: tuple[str, ...]
    exclude_global_middlewares: tuple[str, ...]
    websocket: bool
    http_proxy: tuple[str, str] | None
    websocket_proxy: tuple[str, str] | None
    comment: str

    @property
    def handler(self) -> str:
        return python_name(self.name)

    @property
    def implemented(self) -> bool:
        """Whether the user implements it (another service answers proxied ones)."""
        return self.http_proxy is None and self.websocket_proxy is None


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    full_name: str
    servers: tuple[str, ...]
    middlewares: tuple[str, ...]
    plugins: tuple[PluginInstance, ...]
    methods: tuple[Method, ...]
    comment: str

    @property
    def snake(self) -> str:
        return snake(self.name)

    @property
    def spec(self) -> str:
        return constant(self.name) + "_SPEC"

    @property
    def rpc_server(self) -> str | None:
        implemented = any(m.implemented for m in self.methods)
        return f"{self.name}RpcServer" if implemented else None


@dataclass(frozen=True, slots=True)
class Client:
    """A client of another service, from ``option (toolkit.services)``."""

    service: str
    full_name: str
    methods: tuple[Method, ...]

    @property
    def class_name(self) -> str:
        return camel(self.service) + "Client"

    @property
    def attribute(self) -> str:
        return python_name(self.service)


@dataclass(frozen=True, slots=True)
class FileModel:
    proto_file: str
    plugins: tuple[PluginInstance, ...]
    services: tuple[Service, ...]
    clients: tuple[Client, ...]
    mocks: bool

    @property
    def all_plugins(self) -> tuple[PluginInstance, ...]:
        """Every distinct instance: file-level first, then each service's."""
        seen: dict[str, PluginInstance] = {}
        for instance in (*self.plugins, *(p for s in self.services for p in s.plugins)):
            seen.setdefault(instance.prefix, instance)
        return tuple(seen.values())
