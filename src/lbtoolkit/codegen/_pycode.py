"""Python source text that ``ruff format`` leaves as it is.

An expression goes on one line when it fits in 88 columns; otherwise every
argument goes on its own line with a trailing comma, which the formatter
keeps exploded. Imports are grouped and sorted the way ruff's isort does.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed import SupportsRichComparison

__all__ = ["Call", "Expr", "Imports", "Seq", "docstring", "member_key", "render", "string"]

LINE_LENGTH = 88
_INDENT = "    "


@dataclass(frozen=True, slots=True)
class Call:
    """``func(args...)``; an arg is ``"name=" + expr`` text or a nested node."""

    func: str
    args: tuple[Expr | tuple[str, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class Seq:
    """A tuple (``open="("``) or list (``open="["``) display."""

    items: tuple[Expr, ...]
    open: str = "("


Expr = str | Call | Seq


def string(value: str) -> str:
    """A double-quoted literal, as the formatter writes it."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _flat(expr: Expr) -> str:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(_flat_arg(a) for a in expr.args)})"
    close = ")" if expr.open == "(" else "]"
    inner = ", ".join(_flat(item) for item in expr.items)
    if expr.open == "(" and len(expr.items) == 1:
        inner += ","
    return f"{expr.open}{inner}{close}"


def _flat_arg(arg: Expr | tuple[str, Expr]) -> str:
    if isinstance(arg, tuple):
        return f"{arg[0]}={_flat(arg[1])}"
    return _flat(arg)


def render(expr: Expr, *, indent: int = 0, prefix: str = "", suffix: str = "") -> list[str]:
    """Lines of ``prefix + expr + suffix`` at ``indent`` levels."""
    pad = _INDENT * indent
    flat = f"{pad}{prefix}{_flat(expr)}{suffix}"
    if len(flat) <= LINE_LENGTH or isinstance(expr, str):
        return [flat]
    if isinstance(expr, Call):
        head, close = f"{expr.func}(", ")"
        parts: list[tuple[str, Expr]] = [
            (f"{a[0]}=", a[1]) if isinstance(a, tuple) else ("", a) for a in expr.args
        ]
    else:
        head, close = expr.open, ")" if expr.open == "(" else "]"
        parts = [("", item) for item in expr.items]
    lines = [f"{pad}{prefix}{head}"]
    for name, value in parts:
        lines.extend(render(value, indent=indent + 1, prefix=name, suffix=","))
    lines.append(f"{pad}{close}{suffix}")
    return lines


def docstring(text: str, *, indent: int) -> list[str]:
    """A docstring of ``text`` (a proto comment), wrapped to the line length."""
    pad = _INDENT * indent
    width = LINE_LENGTH - len(pad)
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]
    lines: list[str] = []
    for paragraph in paragraphs:
        if lines:
            lines.append("")
        lines.extend(textwrap.wrap(paragraph, width=width - 6, break_long_words=False))
    if not lines:
        return []
    if len(lines) == 1:
        # A closing quote of the text would merge into the closing """.
        spacer = " " if lines[0].endswith('"') else ""
        return [f'{pad}"""{lines[0]}{spacer}"""']
    body = [f"{pad}{line}" if line else "" for line in lines[1:]]
    return [f'{pad}"""{lines[0]}', *body, f'{pad}"""']


@dataclass
class Imports:
    """The import block: stdlib, third-party and relative sections."""

    stdlib: dict[str, set[str]] = field(default_factory=dict)
    third_party: dict[str, set[str]] = field(default_factory=dict)
    plain: set[str] = field(default_factory=set)
    relative: dict[str, set[str]] = field(default_factory=dict)

    def add_stdlib(self, module: str, name: str) -> None:
        self.stdlib.setdefault(module, set()).add(name)

    def add(self, module: str, name: str | None = None) -> None:
        """``from module import name``; ``import module`` without a name."""
        if name is None:
            self.plain.add(module)
        elif module.startswith("."):
            self.relative.setdefault(module, set()).add(name)
        else:
            self.third_party.setdefault(module, set()).add(name)

    def lines(self) -> list[str]:
        sections = [
            _from_lines(self.stdlib, key=str.lower),
            [f"import {m}" for m in sorted(self.plain, key=str.lower)]
            + _from_lines(self.third_party, key=str.lower),
            # ruff orders relative imports from the furthest to the closest.
            _from_lines(self.relative, key=lambda m: (-_level(m), m.lower())),
        ]
        block: list[str] = []
        for section in sections:
            if section:
                if block:
                    block.append("")
                block.extend(section)
        return block


def _level(module: str) -> int:
    return len(module) - len(module.lstrip("."))


def member_key(name: str) -> tuple[int, str]:
    # isort's order-by-type: CONSTANTS, then Classes, then the rest.
    plain = name.split(" as ", maxsplit=1)[0]
    if plain.isupper() and len(plain) > 1:
        return 0, plain
    if plain[:1].isupper():
        return 1, plain
    return 2, plain


def _from_lines(
    modules: dict[str, set[str]], *, key: Callable[[str], SupportsRichComparison]
) -> list[str]:
    lines: list[str] = []
    for module in sorted(modules, key=key):
        names = sorted(modules[module], key=member_key)
        aliased = [n for n in names if " as " in n]
        plain = [n for n in names if " as " not in n]
        if plain:
            single = f"from {module} import {', '.join(plain)}"
            if len(single) <= LINE_LENGTH:
                lines.append(single)
            else:
                lines.extend([f"from {module} import (", *[f"    {n}," for n in plain], ")"])
        lines.extend(f"from {module} import {name}" for name in aliased)
    return lines
