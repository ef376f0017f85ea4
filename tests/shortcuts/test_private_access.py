"""Private state of the libraries below is touched in ``lbtoolkit._shortcuts`` only."""

from __future__ import annotations

import ast
from pathlib import Path

# Read as text, not imported: the check needs no working package.
SOURCE = Path(__file__).parents[2] / "src" / "lbtoolkit"
SHORTCUTS = SOURCE / "_shortcuts"
# protoc's output imports protobuf's internals by design.
GENERATED = SOURCE / "proto"

# What the shortcut modules rely on: attributes, and the keys under which
# they are found in an instance's __dict__.
PRIVATE_NAMES = frozenset(
    {
        "_body",
        "_stream_consumed",
        "server_state",
        "default_headers",
        "encoded_headers",
        "loaded_app",
        "lifespan_class",
        "cycle",
        "ToShortestFloat",
        "type_checkers",
        "_collector_to_names",
        "_labelnames",
        "_child_samples",
    }
)
LIBRARIES = ("starlette", "uvicorn", "granian", "google.protobuf", "prometheus_client")


def _private_module(module: str) -> bool:
    if not module.startswith(LIBRARIES):
        return False
    parts = module.split(".")
    return "internal" in parts or any(part.startswith("_") for part in parts)


def _offences(text: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(text, filename=where)):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_NAMES:
            found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Constant) and node.value in PRIVATE_NAMES:
            found.append(f"{where}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.ImportFrom) and _private_module(node.module or ""):
            found.append(f"{where}:{node.lineno}: from {node.module} import")
        elif isinstance(node, ast.Import):
            found.extend(
                f"{where}:{node.lineno}: import {alias.name}"
                for alias in node.names
                if _private_module(alias.name)
            )
    return found


def _offences_in(path: Path) -> list[str]:
    return _offences(path.read_text(), str(path.relative_to(SOURCE.parent)))


def _checked_files() -> list[Path]:
    return [
        path
        for path in sorted(SOURCE.rglob("*.py"))
        if not path.is_relative_to(SHORTCUTS) and not path.is_relative_to(GENERATED)
    ]


def test_no_private_state_of_the_libraries_outside_the_shortcut_modules() -> None:
    offences = [offence for path in _checked_files() for offence in _offences_in(path)]
    assert offences == []


def test_the_check_sees_what_the_shortcut_modules_do() -> None:
    # The check is only worth something if it catches the shortcuts themselves.
    found = [offence for path in sorted(SHORTCUTS.glob("_*.py")) for offence in _offences_in(path)]
    shown = {offence.rsplit(": ", 1)[1] for offence in found}
    assert {"'_body'", "'_stream_consumed'", "._body", ".server_state", "'cycle'"} <= shown
    assert {"._collector_to_names", "._labelnames", "._child_samples"} <= shown


def test_private_modules_of_the_libraries_are_caught() -> None:
    text = (
        "from google.protobuf.internal.type_checkers import ToShortestFloat\n"
        "import starlette._utils\n"
        "from starlette.requests import Request\n"
    )
    assert _offences(text, "sample.py") == [
        "sample.py:1: from google.protobuf.internal.type_checkers import",
        "sample.py:2: import starlette._utils",
    ]
