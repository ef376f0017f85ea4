"""The guide's ``NewTestPlugin``: a redis plugin on a runtime of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins._support import new_test_plugin_for
from lbtoolkit.plugins.redis._plugin import Options, Plugin, new_plugin

if TYPE_CHECKING:
    from lbtoolkit.plugins._support import NewTestPlugin

__all__ = ["new_test_plugin"]

_DOC = """Build a redis plugin that reads only ``environ`` (no service prefix).

    ``environ`` uses the plugin prefix (``{"REDIS_DATABASE": "1"}`` for the
    default ``Options()``). Unlike a service, a bad or missing variable raises
    ``ConfigError`` here at once. Start and stop it with
    ``lbtoolkit.testing.open_plugin``.
    """

new_test_plugin: NewTestPlugin[Options, Plugin] = new_test_plugin_for(new_plugin, Options, doc=_DOC)
