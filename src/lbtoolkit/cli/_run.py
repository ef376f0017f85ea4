"""``lbtoolkit run MODULE:APP [--reload]``: run a service, restarting it as its code changes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lbtoolkit.cli._app import app
from lbtoolkit.cli._common import fail, load_service, project_settings, say, service_paths

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lbtoolkit.cli._common import ProjectSettings

__all__ = ["run"]

# Time a child has to stop on SIGTERM before it is killed: the service's own
# shutdown timeout bounds its stop; this only guards against a hung process.
_STOP_GRACE_SECONDS = 60.0


@app.command()
def run(
    target: Annotated[
        str, typer.Argument(metavar="MODULE:APP", help="The service, or a factory building it.")
    ],
    *,
    reload: Annotated[
        bool,
        typer.Option(
            "--reload",
            help="Restart when .py or .proto files change (regenerating after a .proto change).",
        ),
    ] = False,
    watch: Annotated[
        list[Path] | None,
        typer.Option(
            "--watch",
            metavar="DIR",
            help="What --reload watches (repeatable; default: src or ., and the .proto folders).",
        ),
    ] = None,
) -> None:
    """Run the service until SIGTERM or Ctrl+C; the exit code is the service's.

    With --reload the service runs in a child process that is stopped
    (SIGTERM, so stop hooks run) and started again after each change.
    """
    if not reload:
        service = load_service(target, keep_path=True)
        raise typer.Exit(service.run())
    try:
        import watchfiles  # noqa: PLC0415 - only --reload needs it
    except ImportError:
        fail("--reload needs the watchfiles package: pip install 'lbtoolkit[reload]'")
    settings = project_settings()
    paths = _watched(watch, settings)
    for path in paths:
        if not path.exists():
            fail(f"--watch {path}: no such directory")
    ignored = [str(settings.out)] if settings is not None else []
    watch_filter = watchfiles.PythonFilter(ignore_paths=ignored, extra_extensions=(".proto",))
    command = [sys.executable, "-m", "lbtoolkit.cli", "run", target]
    say(f"watching {', '.join(str(p) for p in paths)}; Ctrl+C stops")
    child = subprocess.Popen(command)  # noqa: S603 - our own command, no shell
    try:
        for changes in watchfiles.watch(*paths, watch_filter=watch_filter, raise_interrupt=False):
            changed = sorted({Path(path) for _, path in changes})
            say(f"changed: {', '.join(str(p) for p in changed)}; restarting")
            if any(p.suffix == ".proto" for p in changed) and not _regenerate(settings):
                continue  # the running service stays as it was until the .proto is fixed
            _stop(child)
            child = subprocess.Popen(command)  # noqa: S603
    finally:
        _stop(child)


def _watched(watch: list[Path] | None, settings: ProjectSettings | None) -> list[Path]:
    if watch:
        return list(watch)
    paths = [p for p in service_paths() if p.name == "src"] or [Path.cwd()]
    if settings is not None:
        paths += [*settings.include, *(p.parent for p in settings.protos)]
    return _distinct(paths)


def _distinct(paths: Iterable[Path]) -> list[Path]:
    seen: dict[Path, None] = {}
    for path in paths:
        resolved = path.resolve()
        if not any(resolved.is_relative_to(p) for p in seen):
            seen[resolved] = None
    return list(seen)


def _regenerate(settings: ProjectSettings | None) -> bool:
    if settings is None:
        sys.stderr.write("error: a .proto changed but no [tool.lbtoolkit] says how to generate\n")
        return False
    from lbtoolkit.codegen import CodegenError, ProtocError, generate_package  # noqa: PLC0415

    try:
        result = generate_package(
            list(settings.protos), include=list(settings.include), out=settings.out
        )
    except (CodegenError, ProtocError) as error:
        sys.stderr.write(f"error: generate: {error}\n")
        return False
    say(f"regenerated {len(result.changed)} file(s) in {settings.out}")
    return True


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
