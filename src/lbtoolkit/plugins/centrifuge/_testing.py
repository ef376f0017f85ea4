"""The guide's ``NewTestPlugin``: a centrifuge plugin on a runtime of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins._support import new_test_plugin_for
from lbtoolkit.plugins.centrifuge._plugin import Options, Plugin, new_plugin

if TYPE_CHECKING:
    from lbtoolkit.plugins._support import NewTestPlugin

__all__ = ["new_test_plugin"]

_DOC = """Build a centrifuge plugin that reads only ``environ`` (no service prefix).

    ``environ`` uses the plugin prefix (``{"CENTRIFUGE_REDIS_ADDR": ...}`` for
    the default ``Options()``); without it the node keeps publications to
    itself. A bad variable raises ``ConfigError`` here at once. Start and
    stop it with ``lbtoolkit.testing.open_plugin``; mount
    ``plugin.node().route`` in a Starlette app to connect clients.
    """

new_test_plugin: NewTestPlugin[Options, Plugin] = new_test_plugin_for(new_plugin, Options, doc=_DOC)
