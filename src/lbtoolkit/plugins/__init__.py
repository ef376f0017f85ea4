"""Plugins shipped with lbtoolkit, one package each, found by name through entry points.

Every plugin package, shipped or third-party, builds its ``new_test_plugin``
with :func:`build_test_plugin` (the guide's ``NewTestPlugin``).
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins._support import build_test_plugin, new_test_runtime

__all__ = ["build_test_plugin", "new_test_runtime"]

export(__name__, __all__)
