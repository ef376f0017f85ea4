"""A scaffolded project, made once and copied for each test that changes it."""

from __future__ import annotations

import shutil
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lbtoolkit.cli import app

REPOSITORY = Path(__file__).resolve().parents[2]


def init_project(target: Path, *flags: str) -> Path:
    result = CliRunner().invoke(
        app,
        [
            "init",
            "service",
            "billing",
            "--dir",
            str(target),
            "--lbtoolkit-source",
            str(REPOSITORY),
            *flags,
        ],
    )
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture(scope="session")
def scaffold_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_project(tmp_path_factory.mktemp("template") / "billing")


@pytest.fixture
def project(scaffold_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the scaffold, the current directory for the test."""
    copy = tmp_path / "billing"
    shutil.copytree(scaffold_template, copy)
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def service_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], str]]:
    """Write a module with ``source`` under a fresh name; return its name, importable from cwd."""
    monkeypatch.chdir(tmp_path)
    names: list[str] = []

    def write(source: str) -> str:
        name = f"service_{uuid.uuid4().hex}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)
