"""Building the plugin: ``new_plugin`` for services, ``new_test_plugin`` for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins._support import plugin_factories
from lbtoolkit.plugins.outbox._config import Options
from lbtoolkit.plugins.outbox._plugin import OutboxPlugin, Plugin

if TYPE_CHECKING:
    from lbtoolkit.plugins._support import NewPlugin, NewTestPlugin

__all__ = ["new_plugin", "new_test_plugin"]

_TEST_DOC = """The plugin on a runtime of its own that reads only ``environ``.

    Give the database and broker plugins in ``options`` (``Options(database=...,
    broker=...)``): a test runtime has no other plugins to find them among.
    """

new_plugin: NewPlugin[Options, Plugin]
new_test_plugin: NewTestPlugin[Options, Plugin]
new_plugin, new_test_plugin = plugin_factories(OutboxPlugin, Options, test_doc=_TEST_DOC)
