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
# Several blocks may each name an owner (``<!-- lbtoolkit:config plugin "db" -->``): such a
# block holds the variables whose owner starts with that text, and together the blocks must
# cover every variable, so a reference split into sections stays complete.
_SECTION = re.compile(
    r"<!-- lbtoolkit:config(?: (?P<owner>[^\n]*?))? -->\n(?P<table>.*?)" + re.escape(END),
    re.DOTALL,
)


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
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            metavar="TEXT",
            help='With --markdown: only the variables whose owner starts with TEXT (plugin "db").',
        ),
    ] = None,
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
        if owner is not None:
            variables = _owned_by(variables, owner)
            if not variables:
                fail(f"--owner {owner!r}: no variable has an owner starting with it")
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
            sections = list(_SECTION.finditer(text))
            if len(sections) > 1 or (sections and sections[0]["owner"]):
                expected, actual = _sectioned(sections, variables)
            else:
                expected = render_markdown(variables, show_all=True)
                actual = sections[0]["table"] if sections else text
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


def _owned_by(variables: list[Variable], owner: str) -> list[Variable]:
    return [v for v in variables if v.owner.startswith(owner)]


def _sectioned(sections: list[re.Match[str]], variables: list[Variable]) -> tuple[str, str]:
    """The blocks as checked in and as the code renders them, one after another.

    Variables no block's owner covers are listed after the blocks, so that a
    new plugin or server shows in the diff rather than going undocumented.
    """
    from lbtoolkit.config._render import render_markdown  # noqa: PLC0415

    expected: list[str] = []
    actual: list[str] = []
    covered: set[str] = set()
    for section in sections:
        owner = section["owner"]
        chosen = variables if not owner else _owned_by(variables, owner)
        covered.update(v.name for v in chosen)
        heading = f"<!-- lbtoolkit:config {owner} -->\n" if owner else f"{BEGIN}\n"
        expected.append(heading + render_markdown(chosen, show_all=True))
        actual.append(heading + section["table"])
    missing = [v for v in variables if v.name not in covered]
    if missing:
        owners = ", ".join(dict.fromkeys(v.owner for v in missing))
        expected.append(f"(in no block: {owners})\n" + render_markdown(missing, show_all=True))
    return "".join(expected), "".join(actual)
