"""The ``lbtoolkit`` command line: generate, init, add, describe, config, check, run.

Subcommands register themselves on ``app`` when their module is imported;
each imports the heavy parts (protoc, the runtime, servers) only when it runs,
so ``lbtoolkit --help`` answers at once.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.cli import _check, _config, _describe, _generate, _run
from lbtoolkit.cli._add import add_app
from lbtoolkit.cli._app import app, main
from lbtoolkit.cli._init import init_app

__all__ = ["app", "main"]

app.add_typer(init_app)
app.add_typer(add_app)

del _check, _config, _describe, _generate, _run

export(__name__, __all__)
