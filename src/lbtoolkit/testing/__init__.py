"""Test support: plugins built in isolation, their hooks run, in-process services.

``build_test_plugin`` and ``new_test_runtime`` live in ``lbtoolkit.plugins``
(plugin packages use them in production code); they are here too, so a test
imports everything it needs from one place.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins import build_test_plugin, new_test_runtime
from lbtoolkit.runtime import NotProvidedError
from lbtoolkit.testing._override import override
from lbtoolkit.testing._runtime import open_plugin, open_service

__all__ = [
    "NotProvidedError",
    "build_test_plugin",
    "new_test_runtime",
    "open_plugin",
    "open_service",
    "override",
]

export(__name__, __all__)
