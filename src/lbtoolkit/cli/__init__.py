"""The ``lbtoolkit`` command line: ``lbtoolkit generate`` and what comes next.

Subcommands register themselves on ``app`` when their module is imported.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.cli import _generate
from lbtoolkit.cli._app import app, main

__all__ = ["app", "main"]

del _generate

export(__name__, __all__)
