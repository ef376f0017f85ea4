"""Code generated from ``bench/protos`` into the package ``benchgen`` under ``bench/.gen``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness.context import BENCH, GEN, ROOT, python_env

if TYPE_CHECKING:
    from bench.harness.context import Context

__all__ = ["PACKAGE", "generate", "lbtoolkit_command", "lbtoolkit_generate"]

PROTOS = BENCH / "protos"
PACKAGE = "benchgen"
SERVICE_PROTO = "bench_service.proto"


def lbtoolkit_command() -> list[str]:
    """The ``lbtoolkit`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "lbtoolkit"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from lbtoolkit.cli import main; main()"]


def lbtoolkit_generate(
    protos: list[Path], include: Path, out: Path
) -> subprocess.CompletedProcess[str]:
    """``lbtoolkit generate PROTO... -I include -o out`` in a child process."""
    return subprocess.run(
        [
            *lbtoolkit_command(),
            "generate",
            *(str(p) for p in protos),
            "--proto-path",
            str(include),
            "--out",
            str(out),
        ],
        check=False,
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
    )


def generate(ctx: Context) -> bool:
    """Generate the bench service with ``lbtoolkit generate``.

    Without it, protoc's Python output of the messages alone is written, so
    the baselines still run. Returns whether the toolkit module exists.
    """
    if GEN.exists():
        shutil.rmtree(GEN)
    out = GEN / PACKAGE
    result = lbtoolkit_generate([PROTOS / SERVICE_PROTO], PROTOS, out)
    if result.returncode == 0:
        return True
    ctx.log(f"lbtoolkit generate failed; lbtoolkit variants are left out:\n{result.stderr}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "__init__.py").write_text("")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"--python_out={out}",
            "bench_messages.proto",
        ],
        check=True,
        cwd=ROOT,
    )
    return False
