"""``lbtoolkit config MODULE:APP``: the variables a service reads, and checked-in docs of them."""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lbtoolkit.cli._app import app
from lbtoolkit.cli._common import fail, load_service, say

if TYPE_CHECKING:
    from lbtoolkit.config._layout import Variable

__all__ = ["config"]

# A Markdown file may hold the table between these lines, among other prose.
BEGIN = "<!-- lbtoolkit:config -->"
END = "<!-- /lbtoolkit:config -->"
_SECTION = re.compile(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), re.DOTALL)


@app.command()
def config(
    target: Annotated[
        str, typer.Argument(metavar="MODULE:APP", help="The service, or a factory building it.")
    ],
    *,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every variable (default: the required ones).")
    ] = False,
    as_yaml: Annotated[bool, typer.Option("--yaml", help="YAML with descriptions.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="A Markdown table.")] = False,
    without_comments: Annotated[
        bool, typer.Option("--without-comments", help="Leave out the descriptions.")
    ] = False,
    env_example: Annotated[
        Path | None,
        typer.Option(
            "--env-example",
            metavar="FILE",
            help="Write every variable as NAME=default, commented, secrets blank (- : stdout).",
        ),
    ] = None,
    check_docs: Annotated[
        list[Path] | None,
        typer.Option(
            "--check-docs",
            metavar="FILE",
            help="Exit 1 with a diff when a .md table or .env.example no longer matches "
            "(repeatable).",
        ),
    ] = None,
) -> None:
    """Every environment variable of a service: default, required, description.

    The service is built, never started. --markdown, --env-example and
    --check-docs always cover every variable: documents are complete. A
    Markdown file checked may keep the table between `<!-- lbtoolkit:config -->`
    and `<!-- /lbtoolkit:config -->` lines; otherwise the whole file is the table.
    """
    from lbtoolkit.config._render import render_env_example, render_markdown  # noqa: PLC0415

    service = load_service(target)
    variables = service.runtime.config.variables()
    if check_docs:
        _check(check_docs, variables)
        return
    if env_example is not None:
        text = render_env_example(variables)
        if str(env_example) == "-":
            sys.stdout.write(text)
        else:
            env_example.write_text(text, encoding="utf-8")
            say(f"wrote {len(variables)} variable(s) to {env_example}")
        return
    if markdown:
        sys.stdout.write(render_markdown(variables, show_all=True))
    elif as_yaml:
        sys.stdout.write(service.config.print_yaml(all=show_all, no_comments=without_comments))
    else:
        say(service.config.print_table(all=show_all, no_comments=without_comments))
        if not show_all and not any(v.required for v in variables):
            say("no variable is required; --all lists every one")


def _check(files: list[Path], variables: list[Variable]) -> None:
    from lbtoolkit.config._render import render_env_example, render_markdown  # noqa: PLC0415

    drifted = []
    for file in files:
        if not file.is_file():
            fail(f"--check-docs {file}: no such file")
        text = file.read_text(encoding="utf-8")
        if file.suffix.lower() in {".md", ".markdown"}:
            expected = render_markdown(variables, show_all=True)
            section = _SECTION.search(text)
            actual = section.group(1) if section else text
        else:
            expected = render_env_example(variables)
            actual = text
        if actual != expected:
            diff = difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile=f"{file} (checked in)",
                tofile=f"{file} (from the code)",
            )
            sys.stdout.write("".join(line if line.endswith("\n") else line + "\n" for line in diff))
            drifted.append(str(file))
    if drifted:
        fail(
            f"{', '.join(drifted)}: out of date with the service's variables; regenerate with "
            "--markdown or --env-example"
        )
    say(f"{', '.join(str(f) for f in files)}: up to date")
