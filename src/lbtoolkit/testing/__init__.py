"""Test support: isolated plugin runtimes and in-process services."""

from __future__ import annotations

from lbtoolkit.testing._runtime import new_test_runtime, open_plugin, open_service

__all__ = ["new_test_runtime", "open_plugin", "open_service"]
