"""What the commands share: one-line errors, the project's settings, loading a service."""

from __future__ import annotations

import importlib
import sys
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from lbtoolkit.runtime import Service

__all__ = ["ProjectSettings", "fail", "load_service", "project_settings", "say"]


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 1: bad input never shows a traceback."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise typer.Exit(1)


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """``[tool.lbtoolkit]`` of pyproject.toml: what ``generate`` runs on, as the Makefile does."""

    root: Path
    protos: tuple[Path, ...]
    include: tuple[Path, ...]
    out: Path


def project_settings(start: Path | None = None) -> ProjectSettings | None:
    """The settings of the nearest pyproject.toml with a ``[tool.lbtoolkit]`` table."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        pyproject = directory / "pyproject.toml"
        if not pyproject.is_file():
            continue
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            fail(f"{pyproject}: not valid TOML ({error})")
        table = data.get("tool", {}).get("lbtoolkit")
        if not isinstance(table, dict):
            return None
        protos = table.get("protos", [])
        include = table.get("include", [])
        out = table.get("out", "gen")
        if not (_strings(protos) and _strings(include) and isinstance(out, str)):
            fail(
                f"{pyproject} [tool.lbtoolkit]: protos and include must be lists of paths "
                "and out a path"
            )
        return ProjectSettings(
            directory,
            tuple(directory / p for p in protos),
            tuple(directory / p for p in include),
            directory / out,
        )
    return None


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@contextmanager
def _importable(paths: tuple[Path, ...]) -> Iterator[None]:
    # The service is built without the command's own arguments: they are not its argv.
    saved_path, saved_argv = list(sys.path), list(sys.argv)
    sys.path[:0] = [str(p) for p in paths]
    sys.argv = sys.argv[:1]
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def service_paths(start: Path | None = None) -> tuple[Path, ...]:
    """Where ``MODULE`` is looked for: the current directory and its ``src``."""
    here = (start or Path.cwd()).resolve()
    return tuple(p for p in (here, here / "src") if p.is_dir())


def load_service(target: str, *, keep_path: bool = False) -> Service:
    """Import ``MODULE:APP`` and return its service, calling APP when it is a factory.

    Nothing starts: a factory is called without arguments, as ``lbtoolkit run`` does.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute or not attribute.isidentifier():
        fail(f"{target!r}: expected MODULE:APP, e.g. myservice.main:build")
    from lbtoolkit.runtime import Service  # noqa: PLC0415 - only commands that load a service

    paths = service_paths()
    if keep_path:
        sys.path[:0] = [str(p) for p in paths]
    with _importable(() if keep_path else paths):
        found = getattr(_import(target, module_name, paths), attribute, None)
        if found is None:
            fail(f"{target}: module {module_name} has no attribute {attribute!r}")
        if isinstance(found, Service):
            return found
        if not callable(found):
            fail(f"{target}: {attribute} is a {type(found).__name__}, not a Service or a factory")
        try:
            built = found()
        except Exception as error:  # noqa: BLE001 - the factory's failure, named
            fail(f"{target}: calling {attribute}() failed: {type(error).__name__}: {error}")
    if not isinstance(built, Service):
        fail(f"{target}: {attribute}() returned a {type(built).__name__}, not a Service")
    return built


def _import(target: str, module_name: str, paths: tuple[Path, ...]) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            fail(f"{target}: no module named {error.name!r} (looked in {_shown(paths)})")
        fail(f"{target}: importing {module_name} failed: {error}")
    except Exception as error:  # noqa: BLE001 - any import failure is the user's to see
        fail(f"{target}: importing {module_name} failed: {type(error).__name__}: {error}")


def _shown(paths: tuple[Path, ...]) -> str:
    return ", ".join(str(p) for p in paths) or "sys.path"
