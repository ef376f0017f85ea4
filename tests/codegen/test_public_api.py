"""The public faces of the generator's packages: sorted ``__all__``, public paths."""

from __future__ import annotations

import importlib

import pytest

import lbtoolkit.cli
import lbtoolkit.client
import lbtoolkit.codegen
import lbtoolkit.proto


@pytest.mark.parametrize(
    "package", ["lbtoolkit.codegen", "lbtoolkit.client", "lbtoolkit.proto", "lbtoolkit.cli"]
)
def test_all_is_sorted_and_complete(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in exported:
        assert hasattr(module, name), name


@pytest.mark.parametrize("package", [lbtoolkit.codegen, lbtoolkit.client])
def test_exports_report_the_public_module(package: object) -> None:
    for name in package.__all__:  # type: ignore[attr-defined]
        value = getattr(package, name)
        if callable(value) and hasattr(value, "__module__"):
            assert value.__module__ == package.__name__, name  # type: ignore[attr-defined]


def test_proto_functions_report_the_public_module() -> None:
    for name in ("descriptor_set", "include_paths", "protoc_module", "python_module"):
        assert getattr(lbtoolkit.proto, name).__module__ == "lbtoolkit.proto"


def test_cli_entry_point() -> None:
    assert callable(lbtoolkit.cli.main)
    commands = lbtoolkit.cli.app.registered_commands
    assert [getattr(c.callback, "__name__", None) for c in commands] == ["generate"]
