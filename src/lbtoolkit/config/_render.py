"""The views of the variables: a text table, commented YAML, Markdown, ``.env.example``."""

from __future__ import annotations

import io
import re
import sys
from typing import TYPE_CHECKING

import yaml
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from lbtoolkit.config._layout import Variable

__all__ = ["render_env_example", "render_markdown", "render_table", "render_yaml"]

_HEADERS = ("ENVIRONMENT", "DEFAULT VALUE", "REQUIRED", "DESCRIPTION")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NEEDS_QUOTES = re.compile(r"[\s#\"'\\$`]")
# Wide enough that no cell is ever wrapped or cut, whatever the terminal.
_CONSOLE_WIDTH = 1_000_000


def render_table(variables: Sequence[Variable], *, show_all: bool, no_comments: bool) -> str:
    """A table in the go-pretty style of the Go toolkit, without colours."""
    table = Table(box=box.ASCII2, show_edge=True)
    headers = _HEADERS[:3] if no_comments else _HEADERS
    for header in headers:
        table.add_column(header, no_wrap=True, overflow="ignore")
    for var in _select(variables, show_all=show_all):
        row = [var.name, var.default, "yes" if var.required else "no"]
        if not no_comments:
            row.append(" ".join(_described(var).split()))
        # Text cells: a "[" in a default must not be read as rich markup.
        table.add_row(*(Text(cell) for cell in row))
    out = io.StringIO()
    console = Console(
        file=out,
        width=_CONSOLE_WIDTH,
        color_system=None,
        highlight=False,
        markup=False,
        emoji=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def render_yaml(variables: Sequence[Variable], *, show_all: bool, no_comments: bool) -> str:
    """A YAML mapping of variable name to default, descriptions as comments.

    A name defined twice (a conflict reported as an issue) appears once, so
    the document stays a valid mapping.
    """
    lines = ["---"]
    seen: set[str] = set()
    for var in _select(variables, show_all=show_all):
        if var.name in seen:
            continue
        seen.add(var.name)
        if not no_comments:
            lines.extend(_comment(var))
        lines.append(f"{_key(var.name)}: {_quoted(var.default)}")
    if len(lines) == 1:
        return "--- {}\n"
    return "\n".join(lines) + "\n"


def render_markdown(variables: Sequence[Variable], *, show_all: bool) -> str:
    """A Markdown table for docs: name, default, required, description with its rule."""
    lines = [
        "| Variable | Default | Required | Description |",
        "| --- | --- | --- | --- |",
    ]
    seen: set[str] = set()
    for var in _select(variables, show_all=show_all):
        if var.name in seen:
            continue
        seen.add(var.name)
        default = f"`{_cell(var.default)}`" if var.default else ""
        required = "yes" if var.required else "no"
        described = _cell(" ".join(_described(var).split()))
        lines.append(f"| `{var.name}` | {default} | {required} | {described} |")
    return "\n".join(lines) + "\n"


def render_env_example(variables: Sequence[Variable]) -> str:
    """Every variable as ``NAME=default`` under its description; secrets and required ones blank.

    A value with spaces, quotes or ``#`` is double-quoted, as dotenv readers expect.
    """
    blocks: list[str] = []
    seen: set[str] = set()
    for var in variables:
        if var.name in seen:
            continue
        seen.add(var.name)
        value = "" if var.secret else var.default
        if value and _NEEDS_QUOTES.search(value):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        comment = _comment(var)
        if var.secret:
            comment.append("# (secret: keep its value out of files under version control)")
        blocks.append("\n".join([*comment, f"{var.name}={value}"]))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _cell(text: str) -> str:
    # A "|" would end the cell; Markdown reads "\|" as the character itself.
    return text.replace("|", "\\|")


def _select(variables: Iterable[Variable], *, show_all: bool) -> list[Variable]:
    return [var for var in variables if show_all or var.required]


def _described(var: Variable) -> str:
    """The description with the rule a value must follow: ``Port (0-65535)``."""
    if not var.rule:
        return var.description
    return f"{var.description} ({var.rule})" if var.description else f"({var.rule})"


def _comment(var: Variable) -> list[str]:
    lines = _described(var).splitlines()
    if var.required:
        lines = [f"(required) {lines[0]}" if lines else "(required)", *lines[1:]]
    return [f"# {line}".rstrip() for line in lines]


def _key(name: str) -> str:
    if _PLAIN_KEY.fullmatch(name) and yaml.safe_load(name) == name:
        return name
    return _quoted(name)


def _quoted(text: str) -> str:
    dumped = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=sys.maxsize)
    return dumped.rstrip("\n")
