"""Paths of the generator's fixtures and helpers to generate and type-check them."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lbtoolkit.codegen import generate_package

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import ModuleType

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
PROTOS = FIXTURES / "protos"
GOLDEN = FIXTURES / "golden"
# Test plugins (fakesql, fakecache, myplugin) and their entry points.
PLUGIN_SITE = FIXTURES / "plugin_site"
# Entry points naming the guide's plugins as pyproject.toml registers them.
GUIDE_SITE = FIXTURES / "guide_site"
SRC = HERE.parents[1] / "src"

GUIDE = PROTOS / "guide"
GOEXAMPLES = PROTOS / "goexamples"
TYPED = PROTOS / "typed"
GO_PROTOS = (
    GOEXAMPLES / "service/apis/example.proto",
    GOEXAMPLES / "gateway/apis/server.proto",
    GOEXAMPLES / "wss/apis/server.proto",
    GOEXAMPLES / "http/apis/server.proto",
)
TYPED_PROTO = TYPED / "codegen_typed/myservice.proto"


# The Go examples' plugins, played by the test plugins where modules must import.
def generate(
    out: Path,
    protos: Sequence[Path],
    include: Sequence[Path],
    plugins: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Generate into ``out``; return the toolkit modules' texts by relative path."""
    generate_package(protos, include=include, out=out, plugins=plugins)
    return {
        path.relative_to(out).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(out.rglob("*_toolkit*.py"))
    }


@dataclass(frozen=True)
class MypyResult:
    status: int
    output: str

    def errors_in(self, filename: str) -> list[str]:
        """The error lines reported in files whose path contains ``filename``."""
        return [
            line
            for line in self.output.splitlines()
            if re.match(rf".*{re.escape(filename)}[^:]*:\d+: error:", line)
        ]


def run_mypy(root: Path, targets: Sequence[str], cache: Path) -> MypyResult:
    """``mypy --strict`` on ``targets`` (``-p``/``-m`` arguments) under ``root``.

    lbtoolkit itself is followed silently: these checks are about the
    generated modules and the code using them, not the package's own typing.
    """
    config = root / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\npython_version = 3.11\n"
        "[mypy-lbtoolkit.*]\nfollow_imports = silent\n",
        encoding="utf-8",
    )
    environment = {
        **os.environ,
        "MYPYPATH": os.pathsep.join([str(root), str(PLUGIN_SITE), str(SRC)]),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(cache),
            *targets,
        ],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    return MypyResult(completed.returncode, completed.stdout + completed.stderr)


def typed_module(generated: Path, name: str = "myservice_toolkit") -> ModuleType:
    """Import a module of ``gen_typed`` (the caller puts ``generated`` on sys.path)."""
    return importlib.import_module(f"gen_typed.codegen_typed.{name}")


def annotate(function: Callable[..., object], **hints: object) -> Callable[..., object]:
    """Give ``function`` real annotations: the generated Protocols only exist at run time."""
    function.__annotations__ = {**hints, "return": type(None)}
    return function


# The stamps protoc and grpcio-tools write of their own version: a newer patch
# release changes them and nothing else, so freshness checks leave them out.
_GENERATOR_STAMPS = (
    re.compile(r"^GRPC_GENERATED_VERSION = '[^']*'$", re.MULTILINE),
    re.compile(r"^# Protobuf Python Version: .*$", re.MULTILINE),
    re.compile(r"ValidateProtobufRuntimeVersion\([^)]*\)"),
)


def without_generator_stamps(text: str) -> str:
    """``text`` of a generated module with the generators' version stamps blanked."""
    for stamp in _GENERATOR_STAMPS:
        text = stamp.sub("<generator version>", text)
    return text
