"""``lbtoolkit.spec``: a sorted public face, and a leaf that imports none of the servers."""

from __future__ import annotations

import ast
from pathlib import Path

import lbtoolkit.spec

SPEC = Path(lbtoolkit.spec.__file__).parent
# Generated code imports lbtoolkit.spec: it stays a leaf, whatever the servers become.
ALLOWED = ("lbtoolkit.spec", "lbtoolkit._exceptions", "lbtoolkit._public")


def test_all_is_sorted_and_each_name_is_shown_under_the_package() -> None:
    assert lbtoolkit.spec.__all__ == sorted(lbtoolkit.spec.__all__)
    for name in lbtoolkit.spec.__all__:
        assert getattr(lbtoolkit.spec, name).__module__ == "lbtoolkit.spec", name


def test_spec_imports_nothing_of_ours_but_the_root_error() -> None:
    imported: set[str] = set()
    for path in SPEC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.split(".")[0] == "lbtoolkit"}
    assert {name for name in ours if not name.startswith(ALLOWED)} == set()
    assert "lbtoolkit._exceptions" in ours
