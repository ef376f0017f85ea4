"""The guide's ``NewTestPlugin``: a redis plugin on a runtime of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins import build_test_plugin
from lbtoolkit.plugins.redis._plugin import Options, Plugin, new_plugin

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["new_test_plugin"]


def new_test_plugin(
    options: Options | None = None, *, environ: Mapping[str, str] | None = None
) -> Plugin:
    """Build a redis plugin that reads only ``environ`` (no service prefix).

    ``environ`` uses the plugin prefix (``{"REDIS_DATABASE": "1"}`` for the
    default ``Options()``). Unlike a service, a bad or missing variable raises
    ``ConfigError`` here at once. Start and stop it with
    ``lbtoolkit.testing.open_plugin``.
    """
    return build_test_plugin(new_plugin, options or Options(), environ=environ)
