"""Production code never imports ``lbtoolkit.testing``: tests depend on the product, not back."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "lbtoolkit"


def _imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):  # function-local and TYPE_CHECKING imports included
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def test_no_production_module_imports_testing() -> None:
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] == "testing":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        offenders.extend(
            f"src/lbtoolkit/{relative.as_posix()}:{line}: {module}"
            for line, module in _imported_modules(tree)
            if module == "lbtoolkit.testing" or module.startswith("lbtoolkit.testing.")
        )
    assert offenders == []
