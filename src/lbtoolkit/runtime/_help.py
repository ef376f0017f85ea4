"""The help a service prints when asked, without connecting to anything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lbtoolkit.runtime._runtime import Runtime

__all__ = ["help_requested", "render_help"]

_HELP_WORDS = frozenset({"-h", "--help", "h", "help"})


def help_requested(argv: Sequence[str]) -> bool:
    return any(arg in _HELP_WORDS for arg in argv)


def render_help(runtime: Runtime) -> str:
    """Name, description, options and the variables (table or YAML)."""
    argv = set(runtime.argv)
    show_all = "--all" in argv
    no_comments = "--without-comments" in argv
    meta = runtime.meta
    title = meta.name if meta.version is None else f"{meta.name} {meta.version}"
    lines = [title]
    if meta.description:
        lines.append(meta.description)
    lines += [
        "",
        "Usage:",
        f"  {meta.name} [help|-h|--help] [--all] [--yaml] [--without-comments]",
        "",
        "Options:",
        "  --all               list every variable (default: the required ones)",
        "  --yaml              print the variables as YAML",
        "  --without-comments  leave out the descriptions",
        "",
        "Environment variables:" if show_all else "Required environment variables:",
    ]
    if "--yaml" in argv:
        body = runtime.config.print_yaml(all=show_all, no_comments=no_comments)
    else:
        body = runtime.config.print_table(all=show_all, no_comments=no_comments)
    lines.append(body)
    return "\n".join(lines)
