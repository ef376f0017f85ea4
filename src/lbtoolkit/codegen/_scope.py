"""The names one generated module imports, each under a unique alias."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.codegen._imports import relative_module, split_module
from lbtoolkit.codegen._pycode import Imports
from lbtoolkit.proto import protoc_module, python_module

if TYPE_CHECKING:
    from lbtoolkit.codegen._descriptors import MessageInfo
    from lbtoolkit.codegen._plugins import PluginModule

__all__ = ["ModuleScope", "generated_module"]


def generated_module(proto_file: str, suffix: str) -> str:
    """``a/b/x.proto`` -> ``a.b.x_toolkit`` (for ``suffix="_toolkit"``)."""
    return protoc_module(proto_file).removesuffix("_pb2") + suffix


class ModuleScope:
    """Imports of a module being generated, and the aliases they bind.

    Files in ``local`` are generated into the same package and imported
    relatively; any other proto's module is imported by its absolute name.
    """

    def __init__(self, module: str, local: frozenset[str], reserved: set[str]) -> None:
        self.module = module
        self.local = local
        self.imports = Imports()
        self._taken = set(reserved)
        self._aliases: dict[str, str] = {}

    def message(self, info: MessageInfo) -> str:
        """The expression naming a message class: ``example_pb2.HelloRequest``."""
        if info.proto_file in self.local:
            target = relative_module(self.module, protoc_module(info.proto_file))
        else:
            target = python_module(info.proto_file)
        return f"{self._module_alias(target)}.{info.qualname}"

    def plugin(self, plugin: PluginModule) -> str:
        """The alias of a plugin's module (``postgres_gorm``)."""
        return self._module_alias(plugin.path)

    def stdlib(self, module: str, name: str) -> str:
        self.imports.add_stdlib(module, name)
        return name

    def name(self, module: str, name: str) -> str:
        """``from module import name``, for names of lbtoolkit's public API."""
        self.imports.add(module, name)
        return name

    def _module_alias(self, target: str) -> str:
        alias = self._aliases.get(target)
        if alias is not None:
            return alias
        parent, last = split_module(target)
        alias = last
        parts = target.strip(".").split(".")
        depth = 1
        while alias in self._taken:
            depth += 1
            alias = "_".join(parts[-depth:]) if depth <= len(parts) else f"{alias}_"
        self._taken.add(alias)
        self._aliases[target] = alias
        if not parent:
            self.imports.add(target if alias == last else f"{target} as {alias}")
        else:
            self.imports.add(parent, last if alias == last else f"{last} as {alias}")
        return alias
