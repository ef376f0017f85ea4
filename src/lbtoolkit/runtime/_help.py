"""The help a service prints when asked, without connecting to anything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lbtoolkit.runtime._settings import unread_variables

if TYPE_CHECKING:
    from lbtoolkit.runtime._runtime import Runtime

__all__ = ["help_requested", "render_help"]

_HELP_WORDS = frozenset({"-h", "--help", "h", "help"})


def help_requested(argv: Sequence[str]) -> bool:
    return any(arg in _HELP_WORDS for arg in argv)


def render_help(runtime: Runtime) -> str:
    """Name, description, options, the variables (table or YAML) and any unread variable.

    With ``--yaml`` everything but the variables is written as YAML comments,
    so that ``service help --all --yaml > config.yaml`` is a valid document.
    """
    argv = set(runtime.argv)
    show_all = "--all" in argv
    no_comments = "--without-comments" in argv
    as_yaml = "--yaml" in argv
    meta = runtime.meta
    title = meta.name if meta.version is None else f"{meta.name} {meta.version}"
    header = [title]
    if meta.description:
        header.append(meta.description)
    header += [
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
    unread = unread_variables(runtime)
    warnings = ["", "Warnings:", *(f"  {variable}" for variable in unread)] if unread else []
    if as_yaml:
        body = runtime.config.print_yaml(all=show_all, no_comments=no_comments).rstrip("\n")
        return "\n".join([*_commented(header), body, *_commented(warnings)])
    body = runtime.config.print_table(all=show_all, no_comments=no_comments)
    return "\n".join([*header, body, *warnings])


def _commented(texts: Sequence[str]) -> list[str]:
    # A description may span lines: each of them must start a comment.
    return [f"# {line}".rstrip() for text in texts for line in text.splitlines() or [""]]
