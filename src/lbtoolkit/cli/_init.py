"""``lbtoolkit init service NAME``: a project that generates, type-checks and passes its tests."""

from __future__ import annotations

import keyword
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Annotated

import typer

from lbtoolkit.cli._common import fail, say

__all__ = ["init_app"]

init_app = typer.Typer(
    name="init", help="Create a new project from a template.", no_args_is_help=True
)

NAME_RULE = (
    "lowercase letters and digits, words joined by single underscores, starting with a letter "
    "(e.g. billing, order_history); not a Python keyword nor a standard-library module"
)
_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class _Plugin:
    flag: str
    plugin: str
    prefix: str
    extra: str


# The instance prefixes are the scaffold's choice: short names that read well in
# variables ({PREFIX}_CACHE_ADDR) and in code (cache.client()).
_PLUGINS = (
    _Plugin("postgres_gorm", "postgres_gorm", "pgsql", "postgres"),
    _Plugin("postgres_pg", "postgres_pg", "pg", "postgres"),
    _Plugin("postgres_pgx", "postgres_pgx", "pgx", "postgres"),
    _Plugin("redis", "redis", "cache", "redis"),
    _Plugin("rabbitmq", "rabbitmq", "broker", "rabbitmq"),
    _Plugin("centrifuge", "centrifuge", "centrifuge", "centrifuge"),
    _Plugin("sentry", "sentry", "sentry", "sentry"),
    _Plugin("prometheus", "prometheus", "metrics", "prometheus"),
)

# Template file -> where it goes; "{name}" is the service's name.
_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "proto.tmpl": "apis/{name}.proto",
    "init.py.tmpl": "src/{name}/__init__.py",
    "__main__.py.tmpl": "src/{name}/__main__.py",
    "main.py.tmpl": "src/{name}/main.py",
    "server.py.tmpl": "src/{name}/server.py",
    "config.py.tmpl": "src/{name}/config.py",
    "test_server.py.tmpl": "tests/test_server.py",
    "test_e2e.py.tmpl": "tests/test_e2e.py",
    "Makefile.tmpl": "Makefile",
    "gitignore.tmpl": ".gitignore",
    "Dockerfile.tmpl": "Dockerfile",
    "README.md.tmpl": "README.md",
    "env.example.tmpl": ".env.example",
}


@init_app.command("service")
def init_service(
    name: Annotated[str, typer.Argument(metavar="NAME", help=f"The service's name: {NAME_RULE}.")],
    *,
    postgres_gorm: Annotated[
        bool, typer.Option("--postgres-gorm", help="PostgreSQL (SQLAlchemy) as pgsql.")
    ] = False,
    postgres_pg: Annotated[
        bool, typer.Option("--postgres-pg", help="PostgreSQL (asyncpg pool) as pg.")
    ] = False,
    postgres_pgx: Annotated[
        bool, typer.Option("--postgres-pgx", help="PostgreSQL (asyncpg pool) as pgx.")
    ] = False,
    redis: Annotated[bool, typer.Option("--redis", help="Redis as cache.")] = False,
    rabbitmq: Annotated[bool, typer.Option("--rabbitmq", help="RabbitMQ as broker.")] = False,
    centrifuge: Annotated[
        bool, typer.Option("--centrifuge", help="Centrifuge as centrifuge.")
    ] = False,
    sentry: Annotated[bool, typer.Option("--sentry", help="Sentry as sentry.")] = False,
    prometheus: Annotated[
        bool, typer.Option("--prometheus", help="Prometheus metrics as metrics.")
    ] = False,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", metavar="D", help="Where the project is written (default: ./NAME)."),
    ] = None,
    lbtoolkit_source: Annotated[
        Path | None,
        typer.Option(
            "--lbtoolkit-source",
            metavar="PATH",
            help="Install lbtoolkit from this checkout (a uv path source), not from the index.",
        ),
    ] = None,
    generate: Annotated[
        bool, typer.Option(help="Generate src/NAME/gen from the .proto file at once.")
    ] = True,
) -> None:
    """Write a service project: .proto file, code, tests, Makefile, Dockerfile.

    The project generates, passes `mypy --strict` and ruff, and its tests pass
    as written.
    """
    _check_name(name)
    chosen = dict(
        zip(
            (p.flag for p in _PLUGINS),
            (
                postgres_gorm,
                postgres_pg,
                postgres_pgx,
                redis,
                rabbitmq,
                centrifuge,
                sentry,
                prometheus,
            ),
            strict=True,
        )
    )
    plugins = [p for p in _PLUGINS if chosen[p.flag]]
    target = directory if directory is not None else Path(name)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(f"{target}: exists and is not an empty directory; choose another --dir")
    if lbtoolkit_source is not None and not (lbtoolkit_source / "pyproject.toml").is_file():
        fail(f"--lbtoolkit-source {lbtoolkit_source}: no pyproject.toml there")
    values = _values(name, plugins, lbtoolkit_source)
    templates = resources.files("lbtoolkit.cli") / "templates" / "service"
    for template, destination in _FILES.items():
        text = Template(templates.joinpath(template).read_text(encoding="utf-8"))
        path = target / destination.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.substitute(values), encoding="utf-8")
    (target / "src" / name / "py.typed").write_text("", encoding="utf-8")
    say(f"created {target} (service {name}, plugins: {_listed(plugins)})")
    if generate:
        _generate(target, name)
        _write_env_example(target, name)
    say(f"next: cd {target} && make generate run; `lbtoolkit add method NAME` adds an RPC")


def _check_name(name: str) -> None:
    if (
        not _NAME.fullmatch(name)
        or keyword.iskeyword(name)
        or name in sys.stdlib_module_names
        or name in {"lbtoolkit", "tests", "test"}
    ):
        fail(f"invalid service name {name!r}: the name is {NAME_RULE}")


def _listed(plugins: list[_Plugin]) -> str:
    return ", ".join(f"{p.plugin} as {p.prefix}" for p in plugins) or "none"


def _values(name: str, plugins: list[_Plugin], source: Path | None) -> dict[str, str]:
    from lbtoolkit.codegen._names import snake  # noqa: PLC0415 - keeps --help light

    service = "".join(word.capitalize() for word in name.split("_"))
    extras = sorted({p.extra for p in plugins})
    requirement = "lbtoolkit" + (f"[{','.join(extras)}]" if extras else "") + ">=0.1"
    sources = ""
    if source is not None:
        sources = (
            "\n[tool.uv.sources]\n"
            f"lbtoolkit = {{ path = {_toml_string(str(source.resolve()))}, editable = true }}\n"
        )
    file_plugins = "".join(
        f'option (toolkit.plugins) = {{\n  prefix: "{p.prefix}"\n  plugin: "{p.plugin}"\n}};\n\n'
        for p in plugins
    )
    protocols = [f"{''.join(w.capitalize() for w in p.prefix.split('_'))}Plugin" for p in plugins]
    imports = ""
    if plugins:
        imports = f"from {name}.gen.{name}_toolkit import (\n"
        imports += "".join(f"    {protocol},\n" for protocol in sorted(protocols)) + ")\n"
    mocks_import = ""
    if plugins:
        mocks_import = f"from {name}.gen.{name}_toolkit_mocks import (\n"
        mocks_import += (
            "".join(
                f"    mock_{p.prefix}_plugin,\n" for p in sorted(plugins, key=lambda p: p.prefix)
            )
            + ")\n"
        )
    return {
        "name": name,
        "NAME": name.upper(),
        "PREFIX": name.upper(),
        "Service": service,
        "service_snake": snake(service),
        "package": f"{name}.v1",
        "distribution": name.replace("_", "-"),
        "requirement": requirement,
        "sources": sources,
        "plugins": file_plugins,
        "imports": imports,
        "parameters": _arguments(
            ["self", "config: Config"]
            + [f"{p.prefix}: {protocol}" for p, protocol in zip(plugins, protocols, strict=True)],
            indent=8,
        ),
        "assignments": "".join(f"        self._{p.prefix} = {p.prefix}\n" for p in plugins),
        "mocks_import": mocks_import,
        "mock_arguments": _arguments(
            ['Config(greeting="Hi")', *(f"mock_{p.prefix}_plugin()" for p in plugins)], indent=8
        ),
    }


def _arguments(items: list[str], *, indent: int) -> str:
    """``(a, b)`` while short; one item a line with a trailing comma otherwise (ruff's format)."""
    if len(items) <= 2:  # noqa: PLR2004 - the scaffold's own two: self and config
        return "(" + ", ".join(items) + ")"
    inner = " " * indent
    return "(\n" + "".join(f"{inner}{item},\n" for item in items) + " " * (indent - 4) + ")"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_env_example(target: Path, name: str) -> None:
    """Replace the short .env.example with every variable, as `lbtoolkit config` writes it.

    A child process: the new package must not linger in this one's modules.
    """
    command = [
        sys.executable,
        "-m",
        "lbtoolkit.cli",
        "config",
        f"{name}.main:build",
        "--env-example",
        ".env.example",
    ]
    done = subprocess.run(  # noqa: S603 - our own command, no shell
        command, cwd=target, capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        sys.stderr.write(
            f"warning: .env.example keeps the usual variables only: {done.stderr.strip()}\n"
        )


def _generate(target: Path, name: str) -> None:
    from lbtoolkit.codegen import CodegenError, ProtocError, generate_package  # noqa: PLC0415

    apis = target / "apis"
    try:
        result = generate_package(
            [apis / f"{name}.proto"], include=[apis], out=target / "src" / name / "gen"
        )
    except (CodegenError, ProtocError) as error:
        fail(f"generate: {error}")
    say(f"generated {len(result.changed)} file(s) in {target / 'src' / name / 'gen'}")
