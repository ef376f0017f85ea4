"""Every module ``lbtoolkit generate`` writes imports, in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from tests.codegen.support import PLUGIN_SITE, SRC

if TYPE_CHECKING:
    from pathlib import Path

_IMPORT_ALL = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(len(sys.argv) - 1)
"""


def test_every_generated_module_imports(generated: Path) -> None:
    # The guide's examples share one proto package: each needs its own interpreter.
    groups = [["gen_typed", "gen_go"], *([p.name] for p in generated.glob("gen_guide_*"))]
    assert len(groups) == 5
    for packages in groups:
        _import_all(generated, packages)


def _import_all(generated: Path, packages: list[str]) -> None:
    modules = sorted(
        ".".join(path.relative_to(generated).with_suffix("").parts).removesuffix(".__init__")
        for package in packages
        for path in (generated / package).rglob("*.py")
    )
    assert any(m.endswith("_toolkit") for m in modules)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(generated), str(PLUGIN_SITE), str(SRC)]),
    }
    # A fresh interpreter: the protobuf descriptor pool is process-wide.
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", _IMPORT_ALL, *modules],
        cwd=generated,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(len(modules))
