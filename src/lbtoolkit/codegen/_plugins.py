"""Plugins by name, through the entry-point group ``lbtoolkit.plugins``.

Only the entry point's value is read: the generated code imports the
plugin's module itself, so generating needs none of the plugins' libraries.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ENTRY_POINT_GROUP", "PluginCatalog", "PluginModule"]

ENTRY_POINT_GROUP = "lbtoolkit.plugins"


@dataclass(frozen=True, slots=True)
class PluginModule:
    """Where a plugin lives: ``module`` (dotted) and, for ``module:attr``, ``attr``."""

    name: str
    module: str
    attr: str = ""

    @property
    def path(self) -> str:
        """The object's dotted path: ``lbtoolkit.plugins.redis``."""
        return f"{self.module}.{self.attr}" if self.attr else self.module


class PluginCatalog:
    """The installed plugins, read from entry points on first use.

    ``plugins`` replaces the entry points (name -> ``module`` or ``module:attr``).
    """

    def __init__(self, plugins: Mapping[str, str] | None = None) -> None:
        self._values = dict(plugins) if plugins is not None else None

    def _load(self) -> dict[str, str]:
        if self._values is None:
            found: dict[str, str] = {}
            for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                # The first distribution on sys.path wins, as for imports.
                found.setdefault(entry.name, entry.value)
            self._values = found
        return self._values

    def names(self) -> list[str]:
        return sorted(self._load())

    def get(self, name: str) -> PluginModule | None:
        value = self._load().get(name)
        if value is None:
            return None
        module, _, attr = value.partition(":")
        return PluginModule(name, module.strip(), attr.strip())
