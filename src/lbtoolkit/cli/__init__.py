"""The ``lbtoolkit`` command line: ``lbtoolkit generate`` and what comes next.

Subcommands register themselves on ``app`` when their module is imported.
"""

from __future__ import annotations

from lbtoolkit.cli import _generate
from lbtoolkit.cli._app import app, main

__all__ = ["app", "main"]

del _generate
