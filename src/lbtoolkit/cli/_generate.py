"""``lbtoolkit generate``: Python packages from .proto files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from lbtoolkit.cli._app import app

__all__ = ["generate"]


@app.command()
def generate(
    protos: Annotated[
        list[Path],
        typer.Argument(metavar="FILE.proto...", help="The .proto files to generate."),
    ],
    include: Annotated[
        list[Path] | None,
        typer.Option(
            "--proto-path",
            "-I",
            metavar="DIR",
            help="A directory imports are searched in (repeatable; default: the current one).",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="OUT", help="The package directory written to."),
    ] = Path("gen"),
) -> None:
    """Generate messages, gRPC stubs and toolkit modules as an importable package.

    Runs protoc's Python, stub and gRPC generators and the toolkit generator
    on the files and the files of theirs they import, with the toolkit's
    options, google.api and validate already on the include path.
    """
    from lbtoolkit.codegen import CodegenError, ProtocError, generate_package  # noqa: PLC0415

    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        result = generate_package(protos, include=include or (), out=out)
    except (CodegenError, ProtocError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(1) from None
    if result.warnings.strip():
        errors.print(result.warnings.rstrip(), markup=False)
    for file in result.files:
        console.print(f"{file.status:>9} {file.path}", markup=False)
    changed = len(result.changed)
    console.print(
        f"{changed} file(s) written, {len(result.files) - changed} unchanged in {out}",
        markup=False,
    )
