"""The ``lbtoolkit`` command: a typer app that subcommands are added to."""

from __future__ import annotations

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="lbtoolkit",
    help="Proto-first toolkit for Python microservices.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    # A callback keeps ``generate`` a subcommand even while it is the only one.
    """Proto-first toolkit for Python microservices."""


def main() -> None:
    """The console script's entry point."""
    app()
