"""The import graph of ``src/lbtoolkit`` against docs/design.md's "Parts and import directions".

Every import counts, those under ``if TYPE_CHECKING:`` and inside functions
too: a type-only import still ties one part to another. A failure lists each
import involved as ``file:line``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lbtoolkit"
DESIGN = ROOT / "docs" / "design.md"
SECTION = "## Parts and import directions"
# Every part may import these; they import nothing of ours.
LEAVES = frozenset({"lbtoolkit._exceptions", "lbtoolkit._names", "lbtoolkit._public"})


@dataclass(frozen=True, slots=True)
class Import:
    """One imported module of ours, and where the import is written."""

    source: str
    target: str
    where: str
    type_only: bool

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target}"


def part_of(module: str) -> str:
    """``lbtoolkit.server.http._app`` -> ``lbtoolkit.server``; the root package is its own part."""
    return ".".join(module.split(".")[:2])


def find_modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` (a directory) by its dotted name."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, module: str, path: Path, modules: Mapping[str, Path], base: Path) -> None:
        self._module = module
        self._package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        self._path = path
        self._modules = modules
        self._base = base
        self._type_only = False
        self.found: list[Import] = []

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self._type_only = self._type_only, True
        for statement in node.body:
            self.visit(statement)
        self._type_only = outer
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self._package.rsplit(".", node.level - 1)[0]
            base = f"{package}.{base}" if base else package
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self._modules else base, node)

    def _add(self, name: str, node: ast.stmt) -> None:
        while name and name not in self._modules:
            name = name.rpartition(".")[0]
        if name and name != self._module:
            where = f"{self._path.relative_to(self._base)}:{node.lineno}"
            self.found.append(Import(self._module, name, where, self._type_only))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def collect_imports(package: Path) -> list[Import]:
    """Every import of a module of ``package`` by a module of ``package``."""
    modules = find_modules(package)
    imports: list[Import] = []
    for module, path in modules.items():
        visitor = _ImportVisitor(module, path, modules, package.parent.parent)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        imports += visitor.found
    return imports


def read_directions(design: str) -> dict[str, frozenset[str]]:
    """The parts of the design's table and what each may import (the leaves included)."""
    section = design.split(SECTION, 1)[1].split("\n## ", 1)[0]
    directions: dict[str, frozenset[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        (part,) = re.findall(r"`([^`]+)`", cells[0])
        names = re.findall(r"`([^`]+)`", cells[-1])
        allowed = {name if name.startswith("lbtoolkit") else f"lbtoolkit.{name}" for name in names}
        directions[part] = frozenset(allowed if part in LEAVES else allowed | LEAVES)
    return directions


def forbidden_imports(
    imports: Iterable[Import], directions: Mapping[str, frozenset[str]]
) -> list[str]:
    """One line per import between parts that the directions do not allow."""
    lines = []
    for found in imports:
        source, target = part_of(found.source), part_of(found.target)
        if source != target and target not in directions.get(source, frozenset()):
            allowed = sorted(
                _short(name) for name in directions.get(source, ()) if name not in LEAVES
            )
            lines.append(f"{found} ({_short(source)} may import: {', '.join(allowed) or 'leaves'})")
    return lines


def unused_directions(
    imports: Iterable[Import], directions: Mapping[str, frozenset[str]]
) -> list[str]:
    """One line per direction the table allows between parts that no import uses."""
    used = {(part_of(i.source), part_of(i.target)) for i in imports}
    return [
        f"{_short(source)} may import {_short(target)} but does not"
        for source, allowed in sorted(directions.items())
        for target in sorted(allowed - LEAVES)
        if (source, target) not in used
    ]


def _short(part: str) -> str:
    return part.removeprefix("lbtoolkit.")


Cycle = list[tuple[str, Import]]
"""The nodes of a cycle in order, each with the import that leads to the next."""


def find_cycles(edges: Iterable[tuple[str, str, Import]]) -> list[Cycle]:
    """One cycle through each node that some chain of imports leads back to."""
    graph: dict[str, dict[str, Import]] = defaultdict(dict)
    for source, target, found in edges:
        if source != target:
            graph[source].setdefault(target, found)
    cycles: list[Cycle] = []
    seen: set[str] = set()
    for start in sorted(graph):
        cycle = None if start in seen else _path_back(graph, start)
        if cycle is not None:
            cycles.append(cycle)
            seen.update(node for node, _ in cycle)
    return cycles


def _path_back(graph: Mapping[str, Mapping[str, Import]], start: str) -> Cycle | None:
    """The shortest chain of imports leading from ``start`` back to it, if any."""
    came_from: dict[str, tuple[str, Import]] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target, found in sorted(graph.get(node, {}).items()):
            if target == start:
                cycle = [(node, found)]
                while node != start:
                    node, step = came_from[node]
                    cycle.append((node, step))
                return cycle[::-1]
            if target not in came_from:
                came_from[target] = (node, found)
                queue.append(target)
    return None


def describe(cycles: list[Cycle]) -> str:
    """Each cycle as ``a -> b -> a``, then the import behind each arrow."""
    blocks = []
    for cycle in cycles:
        blocks.append(" -> ".join([node for node, _ in cycle] + [cycle[0][0]]))
        blocks += [f"    {found}" for _, found in cycle]
    return "\n".join(blocks)


# -- the checks on lbtoolkit ----------------------------------------------------------
IMPORTS = collect_imports(PACKAGE)
DIRECTIONS = read_directions(DESIGN.read_text(encoding="utf-8"))


def test_every_part_has_a_row_in_the_design_table() -> None:
    parts = {part_of(module) for module in find_modules(PACKAGE)}
    assert sorted(parts - DIRECTIONS.keys()) == [], f"add a row to {SECTION!r} in docs/design.md"
    assert sorted(DIRECTIONS.keys() - parts) == [], "the table names parts that do not exist"


def test_parts_import_only_what_the_design_allows() -> None:
    offending = forbidden_imports(IMPORTS, DIRECTIONS)
    assert not offending, "imports docs/design.md does not allow:\n" + "\n".join(offending)


def test_every_direction_the_table_allows_is_used() -> None:
    unused = unused_directions(IMPORTS, DIRECTIONS)
    assert not unused, "drop from docs/design.md's table:\n" + "\n".join(unused)


def test_no_cycle_between_parts() -> None:
    edges = [(part_of(i.source), part_of(i.target), i) for i in IMPORTS]
    cycles = find_cycles(edges)
    assert not cycles, "parts importing each other:\n" + describe(cycles)


def test_no_import_cycle_between_modules_at_run_time() -> None:
    """Type-only imports aside, no module needs another that needs it back (import order)."""
    edges = [(i.source, i.target, i) for i in IMPORTS if not i.type_only]
    cycles = find_cycles(edges)
    assert not cycles, "modules importing each other:\n" + describe(cycles)


def test_plugins_import_other_parts_only_through_their_packages() -> None:
    offending = [
        str(i)
        for i in IMPORTS
        if part_of(i.source) == "lbtoolkit.plugins"
        and part_of(i.target) not in ("lbtoolkit.plugins", *LEAVES)
        and any(name.startswith("_") for name in i.target.split(".")[2:])
    ]
    assert not offending, "private modules of other parts:\n" + "\n".join(offending)


# -- the checker itself, on a package made for the purpose ------------------------------
def write_package(root: Path, files: Mapping[str, str]) -> Path:
    """``src/lbtoolkit`` under ``root`` with ``files`` (path -> source), and ``__init__.py``s."""
    package = root / "src" / "lbtoolkit"
    for name, source in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(source)
    return package


TYPE_ONLY = (
    "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from lbtoolkit.beta import B\n"
)
LOCAL = "def load() -> None:\n    from ..alpha import _a\n"


def test_type_only_and_function_local_imports_close_a_cycle_between_parts(tmp_path: Path) -> None:
    package = write_package(tmp_path, {"alpha/_a.py": TYPE_ONLY, "beta/__init__.py": LOCAL})
    imports = collect_imports(package)
    assert [(str(i), i.type_only) for i in imports] == [
        ("src/lbtoolkit/alpha/_a.py:4: lbtoolkit.alpha._a imports lbtoolkit.beta", True),
        ("src/lbtoolkit/beta/__init__.py:2: lbtoolkit.beta imports lbtoolkit.alpha._a", False),
    ]
    cycles = find_cycles((part_of(i.source), part_of(i.target), i) for i in imports)
    assert describe(cycles) == (
        "lbtoolkit.alpha -> lbtoolkit.beta -> lbtoolkit.alpha\n"
        "    src/lbtoolkit/alpha/_a.py:4: lbtoolkit.alpha._a imports lbtoolkit.beta\n"
        "    src/lbtoolkit/beta/__init__.py:2: lbtoolkit.beta imports lbtoolkit.alpha._a"
    )
    # Leaving type-only imports out, as the module check does, leaves no cycle.
    assert find_cycles((i.source, i.target, i) for i in imports if not i.type_only) == []


def test_modules_importing_each_other_at_run_time_are_a_cycle(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {"alpha/_a.py": "from lbtoolkit.alpha import _b\n", "alpha/_b.py": "from . import _a\n"},
    )
    imports = collect_imports(package)
    assert describe(find_cycles((i.source, i.target, i) for i in imports)) == (
        "lbtoolkit.alpha._a -> lbtoolkit.alpha._b -> lbtoolkit.alpha._a\n"
        "    src/lbtoolkit/alpha/_a.py:1: lbtoolkit.alpha._a imports lbtoolkit.alpha._b\n"
        "    src/lbtoolkit/alpha/_b.py:1: lbtoolkit.alpha._b imports lbtoolkit.alpha._a"
    )


def test_an_import_the_table_does_not_list_is_reported_with_what_is_allowed(
    tmp_path: Path,
) -> None:
    design = (
        f"{SECTION}\n\n| part | holds | may import |\n|---|---|---|\n"
        "| `lbtoolkit.alpha` | a | the leaves only |\n"
        "| `lbtoolkit.beta` | b | `alpha`, `gamma` |\n\n## Next\n| `lbtoolkit.zeta` | z | |\n"
    )
    directions = read_directions(design)
    assert directions == {
        "lbtoolkit.alpha": LEAVES,
        "lbtoolkit.beta": LEAVES | {"lbtoolkit.alpha", "lbtoolkit.gamma"},
    }
    package = write_package(
        tmp_path,
        {
            "alpha/__init__.py": "import lbtoolkit._exceptions\nfrom lbtoolkit import beta\n",
            "beta/__init__.py": "from lbtoolkit.alpha import thing\n",
            "_exceptions.py": "",
        },
    )
    assert forbidden_imports(collect_imports(package), directions) == [
        (
            "src/lbtoolkit/alpha/__init__.py:2: lbtoolkit.alpha imports lbtoolkit.beta "
            "(alpha may import: leaves)"
        )
    ]


def test_a_direction_no_import_uses_is_reported(tmp_path: Path) -> None:
    directions = {
        "lbtoolkit.alpha": LEAVES,
        "lbtoolkit.beta": LEAVES | {"lbtoolkit.alpha", "lbtoolkit.gamma"},
        "lbtoolkit.gamma": LEAVES,
    }
    package = write_package(
        tmp_path,
        {
            # A leaf allowed but unused is no overstatement: every part may import them.
            "alpha/__init__.py": "",
            "beta/__init__.py": "from lbtoolkit.alpha import thing\n",
            "gamma/__init__.py": "",
        },
    )
    assert unused_directions(collect_imports(package), directions) == [
        "beta may import gamma but does not"
    ]
