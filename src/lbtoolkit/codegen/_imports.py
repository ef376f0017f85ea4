"""Import paths of the stock generators' output, made importable.

protoc's Python generators import every dependency by its file path
(``from github.com.lastbackend... import annotations_pb2``, ``import
example_pb2``). Rewritten here: the toolkit options and ``validate`` go to the
modules compiled into lbtoolkit, files generated together import each other
relatively (so the output directory is a package under any name), and the
rest (``google.protobuf``, ``google.api``, openapiv2) stay on the installed
packages' modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ModuleMap", "fix_imports", "relative_module", "split_module"]

_FROM = re.compile(
    r"^from (?P<package>[\w.]+) import (?P<name>\w+)(?P<alias> as \w+)?$", re.MULTILINE
)
_PLAIN = re.compile(r"^import (?P<name>[\w.]+) as (?P<alias>\w+)$", re.MULTILINE)
_STAR = re.compile(r"^from (?P<package>[\w.]+) import \*$", re.MULTILINE)
_MODULE_NAME = re.compile(r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, )'[\w.]+'")
_STUB_IMPORT = re.compile(
    r"^(?:from [.\w]+ import (?P<a>\w+_pb2) as (?P<b>\w+)|import [\w.]+_pb2 as (?P<c>\w+))$"
)


@dataclass(frozen=True)
class ModuleMap:
    """protoc's module names and where they really are.

    ``shipped`` maps a module to an absolute one; ``local`` holds the modules
    written into the output package, imported relatively.
    """

    shipped: Mapping[str, str] = field(default_factory=dict)
    local: frozenset[str] = frozenset()

    def resolve(self, module: str, importer: str) -> str | None:
        """Where ``importer`` (a protoc module name) finds ``module``, if moved."""
        if module in self.local:
            return relative_module(importer, module)
        return self.shipped.get(module)


def relative_module(importer: str, module: str) -> str:
    """``module`` as a relative import from ``importer`` (both absolute names)."""
    here = importer.split(".")[:-1]
    there = module.split(".")
    common = 0
    while common < min(len(here), len(there) - 1) and here[common] == there[common]:
        common += 1
    return "." * (len(here) - common + 1) + ".".join(there[common:])


def split_module(module: str) -> tuple[str, str]:
    """``("a.b", "c")`` for ``a.b.c`` and ``(".", "c")`` for ``.c``."""
    stripped = module.lstrip(".")
    dots = module[: len(module) - len(stripped)]
    parent, _, name = stripped.rpartition(".")
    return (dots + parent) if parent else dots, name


def fix_imports(text: str, importer: str, modules: ModuleMap, *, stub: bool = False) -> str:
    """Rewrite the imports of one generated file (``importer`` is its module)."""

    def from_import(found: re.Match[str]) -> str:
        package, name, alias = found["package"], found["name"], found["alias"] or ""
        target = modules.resolve(f"{package}.{name}", importer)
        if target is not None:
            parent, last = split_module(target)
            return f"from {parent} import {last}{alias}"
        target = modules.resolve(package, importer)
        return found[0] if target is None else f"from {target} import {name}{alias}"

    def plain_import(found: re.Match[str]) -> str:
        target = modules.resolve(found["name"], importer)
        if target is None:
            return found[0]
        parent, last = split_module(target)
        if not parent:
            return f"import {last} as {found['alias']}"
        return f"from {parent} import {last} as {found['alias']}"

    def star_import(found: re.Match[str]) -> str:
        target = modules.resolve(found["package"], importer)
        return found[0] if target is None else f"from {target} import *"

    text = _FROM.sub(from_import, text)
    text = _PLAIN.sub(plain_import, text)
    text = _STAR.sub(star_import, text)
    # Message classes report the module they live in (pickle and reprs use it).
    text = _MODULE_NAME.sub(r"\1__name__", text)
    return _drop_unused_imports(text) if stub else text


def _drop_unused_imports(text: str) -> str:
    # Stubs import every dependency, including option-only ones (the toolkit
    # options, validate, openapiv2) that type nothing and may have no stubs.
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    for index, line in enumerate(lines):
        found = _STUB_IMPORT.match(line.rstrip("\n"))
        alias = found and (found["b"] or found["c"])
        if alias and not (found and found["a"] == alias):
            rest = "".join(lines[:index] + lines[index + 1 :])
            if not re.search(rf"\b{re.escape(alias)}\.", rest):
                continue
        kept.append(line)
    return "".join(kept)
