"""``lbtoolkit init service``: a project that generates, type-checks and passes its own tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lbtoolkit.cli import app
from tests.cli.conftest import REPOSITORY, init_project
from tests.support.mypy_cache import mypy_cache

runner = CliRunner()
BIN = Path(sys.executable).parent


def test_init_writes_the_project(tmp_path: Path) -> None:
    project = init_project(tmp_path / "billing", "--redis", "--postgres-pg", "--sentry")

    files = sorted(
        p.relative_to(project).as_posix()
        for p in project.rglob("*")
        if p.is_file() and "/gen/" not in p.as_posix()
    )
    assert files == [
        ".env.example",
        ".gitignore",
        "Dockerfile",
        "Makefile",
        "README.md",
        "apis/billing.proto",
        "pyproject.toml",
        "src/billing/__init__.py",
        "src/billing/__main__.py",
        "src/billing/config.py",
        "src/billing/main.py",
        "src/billing/py.typed",
        "src/billing/server.py",
        "tests/test_e2e.py",
        "tests/test_server.py",
    ]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == ["lbtoolkit[postgres,redis,sentry]>=0.1"]
    assert pyproject["tool"]["uv"]["sources"]["lbtoolkit"] == {
        "path": str(REPOSITORY),
        "editable": True,
    }
    assert pyproject["tool"]["lbtoolkit"] == {
        "protos": ["apis/billing.proto"],
        "include": ["apis"],
        "out": "src/billing/gen",
    }
    proto = (project / "apis/billing.proto").read_text()
    for marker in ("plugins", "service-plugins", "methods", "messages"):
        assert proto.count(f"// +lbtoolkit:{marker}\n") == 1
    assert 'option (toolkit.plugins) = {\n  prefix: "cache"\n  plugin: "redis"\n};' in proto
    assert "servers: [GRPC, HTTP]" in proto
    assert "rpc HelloWorld(HelloWorldRequest) returns (HelloWorldResponse)" in proto
    assert (project / "src/billing/gen/billing_toolkit_mocks.py").is_file()
    # Written by `lbtoolkit config --env-example`: every variable, the plugins' too.
    env_example = (project / ".env.example").read_text()
    assert "\nBILLING_GREETING=Hello\n" in env_example
    assert "\nBILLING_CACHE_" in env_example


def check_project(project: Path, *pytest_arguments: str) -> None:
    """ruff, mypy --strict and the project's tests, run with this environment's tools."""
    environ = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "MYPY_CACHE_DIR": str(mypy_cache("scaffold")),
    }
    for command in (
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *pytest_arguments],
    ):
        done = subprocess.run(
            command, cwd=project, env=environ, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"


def test_the_scaffold_passes_lint_types_and_its_tests(scaffold_template: Path) -> None:
    check_project(scaffold_template)


def test_the_scaffold_env_example_is_what_check_docs_expects(scaffold_template: Path) -> None:
    # The file a newcomer commits must pass the drift check CI would run on it.
    done = subprocess.run(
        [
            str(BIN / "lbtoolkit"),
            "config",
            "billing.main:build",
            "--check-docs",
            ".env.example",
        ],
        cwd=scaffold_template,
        env={**os.environ, "PYTHONPATH": str(scaffold_template / "src")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ".env.example: up to date\n"


@pytest.mark.integration
def test_a_scaffold_with_plugins_passes_lint_types_and_its_tests(tmp_path: Path) -> None:
    # The end-to-end test starts the plugins: Redis and PostgreSQL at their default addresses.
    project = init_project(tmp_path / "billing", "--redis", "--postgres-pg")
    check_project(project)


@pytest.mark.slow
def test_the_scaffold_installs_and_passes_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    uv = REPOSITORY / ".tools" / "bin" / "uv"
    if not uv.is_file():
        pytest.skip(f"{uv} is missing (make creates it)")
    project = init_project(tmp_path / "billing")
    done = subprocess.run(
        [str(uv), "sync", "--quiet"], cwd=project, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    venv = project / ".venv" / "bin"
    for command in (
        [
            str(venv / "lbtoolkit"),
            "generate",
            "-I",
            "apis",
            "-o",
            "src/billing/gen",
            "apis/billing.proto",
        ],
        [str(venv / "mypy")],
        [str(venv / "python"), "-m", "pytest", "-q"],
    ):
        run = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        assert run.returncode == 0, f"{command}:\n{run.stdout}\n{run.stderr}"


@pytest.mark.parametrize(
    "name", ["Billing", "1billing", "bill-ing", "bill__ing", "class", "json", "billing_"]
)
def test_invalid_names_are_refused_with_the_rule(tmp_path: Path, name: str) -> None:
    result = runner.invoke(app, ["init", "service", name, "--dir", str(tmp_path / "out")])

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: invalid service name {name!r}: the name is lowercase letters and digits, words "
        "joined by single underscores, starting with a letter (e.g. billing, order_history); "
        "not a Python keyword nor a standard-library module\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    result = runner.invoke(app, ["init", "service", "billing", "--dir", str(tmp_path)])

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path}: exists and is not an empty directory; choose another --dir\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_source_without_a_project_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "init",
            "service",
            "billing",
            "--dir",
            str(tmp_path / "b"),
            "--lbtoolkit-source",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 1
    assert result.stderr == f"error: --lbtoolkit-source {tmp_path}: no pyproject.toml there\n"
    assert not (tmp_path / "b").exists()


def test_an_empty_directory_is_used(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["init", "service", "billing", "--dir", str(tmp_path), "--no-generate"]
    )

    assert result.exit_code == 0, result.output
    assert (tmp_path / "apis/billing.proto").is_file()
    assert not (tmp_path / "src/billing/gen").exists()
