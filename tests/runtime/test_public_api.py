"""The public face: sorted ``__all__`` whose names really are exported."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "lbtoolkit",
    "lbtoolkit.runtime",
    "lbtoolkit.config",
    "lbtoolkit.tools",
    "lbtoolkit.testing",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for attribute in exported:
        assert hasattr(module, attribute), f"{name}.{attribute}"
