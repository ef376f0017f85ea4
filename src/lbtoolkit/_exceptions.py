"""The root of every error lbtoolkit raises.

A leaf module: every part of the package (``config`` included) may import it
without pulling in anything else of ours.
"""

from __future__ import annotations

__all__ = ["LbToolkitError"]


class LbToolkitError(Exception):
    """Base class of every error raised by lbtoolkit.

    Each concrete error also inherits the closest builtin (``ValueError``,
    ``LookupError``, ``RuntimeError``, ``TypeError``) so callers may catch either.
    """
