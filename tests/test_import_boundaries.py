"""What a light entry point imports: read from ``sys.modules`` in a fresh interpreter.

``import lbtoolkit``, ``lbtoolkit --help`` and a generated ``*_pb2`` module
must not pay for the runtime, the servers, the plugins or the libraries
behind them: a pure client, the command line and code generation start fast.
A running service does not pay for what only help, a switched-off feature or
several workers use: its memory and start-up time are what it serves with.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples.examples_support import DEMO_ON_FREE_PORTS

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"
HEAVY_LIBRARIES = (
    "uvicorn",
    "dishka",
    "starlette",
    "opentelemetry.sdk",
    "grpc_tools",
    "sqlalchemy",
)
HEAVY_PARTS = ("lbtoolkit.runtime", "lbtoolkit.server", "lbtoolkit.plugins", "lbtoolkit.tools")


def imported_after(code: str) -> set[str]:
    """The modules loaded once ``code`` ran in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(DEMO)},
        timeout=60,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    wanted = (*HEAVY_LIBRARIES, *HEAVY_PARTS)
    return sorted(m for m in modules if any(m == w or m.startswith(w + ".") for w in wanted))


def test_importing_the_package_loads_nothing_heavy() -> None:
    modules = imported_after("import lbtoolkit")
    assert heavy(modules) == []
    assert sorted(m for m in modules if m.startswith("lbtoolkit")) == [
        "lbtoolkit",
        "lbtoolkit._exceptions",
        "lbtoolkit._public",
    ]


def test_a_name_of_the_package_loads_its_part_on_first_use() -> None:
    modules = imported_after("import lbtoolkit\nlbtoolkit.StartError")
    assert "lbtoolkit.runtime" in modules


def test_the_command_lines_help_loads_no_runtime_nor_server() -> None:
    code = (
        "import sys\nsys.argv = ['lbtoolkit', '--help']\nfrom lbtoolkit.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert heavy(imported_after(code)) == []


@pytest.mark.parametrize("module", ["greeter_demo.gen.greeter_pb2"])
def test_a_generated_messages_module_loads_only_the_option_descriptors(module: str) -> None:
    modules = imported_after(f"import {module}")
    assert heavy(modules) == []
    ours = {m for m in modules if m.startswith("lbtoolkit")}
    assert ours - {"lbtoolkit", "lbtoolkit._exceptions", "lbtoolkit._public"} <= {
        m for m in ours if m == "lbtoolkit.proto" or m.startswith("lbtoolkit.proto.")
    }


# Loaded only by the help views, grpc reflection (off by default), several
# workers, close-name suggestions and WebSocket routes (the demo has none; the
# probes server speaks plain HTTP): none of them is part of the demo's start.
NOT_FOR_A_PLAIN_START = (
    "difflib",
    "grpc_reflection.v1alpha.reflection",
    "lbtoolkit.config._render",
    "lbtoolkit.runtime._supervisor",
    "rich",
    "uvicorn.protocols.websockets",
    "yaml",
)


def test_a_started_service_loads_no_help_view_nor_switched_off_feature() -> None:
    code = (
        "import asyncio\nfrom greeter_demo.service import build\n"
        f"app = build(environ={DEMO_ON_FREE_PORTS!r}, argv=[])\n"
        "async def main():\n    await app.start()\n    await app.stop()\n"
        "asyncio.run(main())"
    )
    # A start that fails leaves a traceback, not the module list, and fails the test.
    modules = imported_after(code)
    loaded = [
        m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_FOR_A_PLAIN_START)
    ]
    assert sorted(loaded) == []
