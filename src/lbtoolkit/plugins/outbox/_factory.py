"""Building the plugin: ``new_plugin`` for services, ``new_test_plugin`` for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins import build_test_plugin
from lbtoolkit.plugins.outbox._config import Options
from lbtoolkit.plugins.outbox._plugin import OutboxPlugin, Plugin

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lbtoolkit.runtime import Runtime

__all__ = ["new_plugin", "new_test_plugin"]


def new_plugin(runtime: Runtime, options: Options) -> Plugin:
    """Create the plugin and parse its config under ``options.name``; nothing connects here."""
    return OutboxPlugin(runtime, options)


def new_test_plugin(
    options: Options | None = None, *, environ: Mapping[str, str] | None = None
) -> Plugin:
    """The plugin on a runtime of its own that reads only ``environ``.

    Give the database and broker plugins in ``options`` (``Options(database=...,
    broker=...)``): a test runtime has no other plugins to find them among.
    """
    return build_test_plugin(new_plugin, options or Options(), environ=environ)
