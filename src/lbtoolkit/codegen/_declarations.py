"""Plugin instances as declared: prefixes checked, plugins looked up by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.codegen._errors import (
    DuplicatePrefixError,
    InvalidPrefixError,
    PrefixConflictError,
    UnknownPluginError,
)
from lbtoolkit.codegen._model import PluginInstance
from lbtoolkit.codegen._names import is_valid_prefix
from lbtoolkit.codegen._plugins import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from lbtoolkit.codegen._plugins import PluginCatalog
    from lbtoolkit.proto.toolkit.options import annotations_pb2 as toolkit

__all__ = ["Declarations"]


class Declarations:
    """The instances of one file, each checked against those declared before.

    A prefix names one Protocol in the generated module, so it may name one
    plugin type across the whole file; the same instance may appear in two
    services, but not twice where one service sees it.
    """

    def __init__(self, proto_file: str, catalog: PluginCatalog) -> None:
        self.proto_file = proto_file
        self.catalog = catalog
        self.by_prefix: dict[str, PluginInstance] = {}

    def add(
        self, declared: toolkit.Plugin, option: str, where: str, in_scope: set[str]
    ) -> PluginInstance:
        """Check one declaration; ``in_scope`` holds the prefixes its service sees."""
        prefix, plugin = declared.prefix, declared.plugin
        if not is_valid_prefix(prefix):
            raise InvalidPrefixError(
                self.proto_file,
                option,
                f'prefix "{prefix}" of plugin "{plugin}" is not a valid identifier; use '
                "lower-case letters, digits and underscores, starting with a letter",
                where=where,
            )
        earlier = self.by_prefix.get(prefix)
        if earlier is not None and earlier.plugin != plugin:
            raise PrefixConflictError(
                self.proto_file,
                option,
                f'prefix "{prefix}" is used for two plugin types, "{earlier.plugin}" '
                f'({earlier.declared}) and "{plugin}"; give each instance its own prefix',
                where=where,
            )
        if earlier is not None and (prefix in in_scope or not earlier.where):
            raise DuplicatePrefixError(
                self.proto_file,
                option,
                f'prefix "{prefix}" of plugin "{plugin}" is already declared in '
                f"{earlier.declared}; each instance needs its own prefix",
                where=where,
            )
        module = self.catalog.get(plugin)
        if module is None:
            installed = ", ".join(self.catalog.names()) or "none"
            raise UnknownPluginError(
                self.proto_file,
                option,
                f'plugin "{plugin}" not found; installed plugins: {installed}; '
                f"a plugin is found through the entry point group {ENTRY_POINT_GROUP}",
                where=where,
            )
        instance = PluginInstance(prefix, plugin, module, option, where)
        self.by_prefix.setdefault(prefix, instance)
        in_scope.add(prefix)
        return instance
