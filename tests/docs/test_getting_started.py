"""docs/getting-started.md, followed to the letter: its commands run in order, its outputs checked.

A ``sh`` block's lines are commands, run one by one in the project being
built (``cd`` moves there). A comment line before a block says what else to
do with it:

- ``<!-- test: output -->``: the lines of the block appear in what the
  previous commands printed (a ``json`` block: the same JSON value); a block
  starting ``$ COMMAND`` runs COMMAND first, which may fail (the doc shows
  an error);
- ``<!-- test: file PATH -->``: the block's lines appear in PATH, in order;
- ``<!-- test: append PATH -->``: the block is added to the end of PATH;
- ``<!-- test: background -->``: a command that runs until stopped (``make run``);
- ``<!-- test: needs-service [TOOL] -->``: commands that call the running
  service (and need TOOL installed).

The quick test runs everything but the running service, with this
checkout's virtualenv on PATH instead of a new one; the slow one starts
``make run`` on free ports, calls it and stops it with SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.mypy_cache import mypy_cache
from tests.support.servers import free_ports

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "getting-started.md"
BIN = Path(sys.executable).parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0
# Commands of the guide that set up an environment this test already has:
# the checkout is installed in BIN's virtualenv, which the project uses
# through PATH and PYTHONPATH (tests/cli/test_newcomer_path.py runs `uv sync`).
ALREADY_DONE = ("pip install lbtoolkit", "uv sync")

_BLOCK = re.compile(
    r"(?:<!-- test: (?P<marker>[^\n]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL
)


@dataclass(frozen=True)
class Block:
    marker: str
    lang: str
    body: str
    line: int


def guide_blocks() -> list[Block]:
    text = GUIDE.read_text(encoding="utf-8")
    return [
        Block(m["marker"] or "", m["lang"], m["body"], text.count("\n", 0, m.start()) + 1)
        for m in _BLOCK.finditer(text)
    ]


@dataclass
class Walk:
    """The state of one reading of the guide: where we are, what was printed."""

    directory: Path
    environ: dict[str, str]
    ports: dict[int, int]
    with_service: bool
    output: str = ""
    # What the last block wrote on stdout alone: curl's progress meter goes to stderr.
    stdout: str = ""
    service: subprocess.Popen[str] | None = None
    service_log: Path | None = None
    ran: list[str] = field(default_factory=list)
    # Where the service log stood when the guide last edited a file: --reload restarts
    # after that, and a call must wait for the new start, not reach the old process.
    edited_at: int | None = None

    def localise(self, text: str) -> str:
        # The guide's ports are the defaults; this run serves on free ones.
        for default, port in self.ports.items():
            text = text.replace(f"127.0.0.1:{default}", f"127.0.0.1:{port}")
        return text

    def run(self, command: str, *, may_fail: bool = False) -> str:
        command = command.split("  #", 1)[0].strip()
        if not command or command.startswith("#") or command in ALREADY_DONE:
            return ""
        if command.startswith("cd "):
            self.directory = self.directory / command.removeprefix("cd ").strip()
            self.environ["PYTHONPATH"] = str(self.directory / "src")
            return ""
        if command.startswith("lbtoolkit init "):
            command += f" --lbtoolkit-source {ROOT}"
        command = self.localise(command)
        done = subprocess.run(
            ["/bin/bash", "-c", command],
            cwd=self.directory,
            env=self.environ,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        self.ran.append(command)
        printed = done.stdout + done.stderr
        self.stdout += done.stdout
        if not may_fail:
            assert done.returncode == 0, f"`{command}` in {self.directory}:\n{printed}"
        # Paths are printed as the tool saw them; the guide shows them relative to the project.
        return printed.replace(f"{self.directory}/", "")

    def start(self, command: str) -> None:
        assert self.service is None, "the guide starts the service twice"
        self.service_log = self.directory.parent / "service.log"
        with self.service_log.open("w") as log:
            self.service = subprocess.Popen(
                ["/bin/bash", "-c", f"exec {command}"],
                cwd=self.directory,
                env=self.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        self.ran.append(command)
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        probe = f"http://127.0.0.1:{self.ports[8081]}/_healthz/readiness"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.service is not None
            assert self.service.poll() is None, f"the service ended:\n{self.log()}"
            restarted = self.edited_at is None or "started in" in self.log()[self.edited_at :]
            try:
                if restarted and httpx.get(probe, timeout=2).status_code == 200:
                    self.edited_at = None
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"not ready within {START_TIMEOUT}s:\n{self.log()}")

    def log(self) -> str:
        return self.service_log.read_text() if self.service_log else ""

    def stop(self) -> int | None:
        if self.service is None or self.service.poll() is not None:
            return None if self.service is None else self.service.returncode
        os.killpg(self.service.pid, signal.SIGTERM)
        try:
            return self.service.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.service.pid, signal.SIGKILL)
            self.service.wait()
            pytest.fail(f"not stopped within {STOP_TIMEOUT}s of SIGTERM:\n{self.log()}")


def follow(walk: Walk, block: Block) -> None:
    where = f"{GUIDE.name}:{block.line}"
    kind, _, argument = block.marker.partition(" ")
    if kind == "output":
        check_output(walk, block, where)
    elif kind == "file":
        check_file(walk.directory / argument, block.body, where)
    elif kind == "append":
        if walk.service is not None:
            walk.edited_at = len(walk.log())
        with (walk.directory / argument).open("a", encoding="utf-8") as target:
            target.write("\n" + block.body)
    elif block.lang != "sh":
        return
    elif kind == "background":
        if walk.with_service:
            walk.start(block.body.split("  #", 1)[0].strip())
    elif kind == "needs-service":
        if not walk.with_service or (argument and shutil.which(argument) is None):
            walk.output = ""
            return
        # A restart (--reload after an edit) may be under way: wait until it serves again.
        walk.wait_until_ready()
        walk.stdout = ""
        walk.output = "".join(walk.run(line) for line in block.body.splitlines())
    else:
        assert not kind, f"{where}: unknown marker {block.marker!r}"
        walk.stdout = ""
        walk.output = "".join(walk.run(line) for line in block.body.splitlines())


def check_output(walk: Walk, block: Block, where: str) -> None:
    lines = block.body.splitlines()
    if lines and lines[0].startswith("$ "):
        walk.output = walk.run(lines[0].removeprefix("$ "), may_fail=True)
        lines = lines[1:]
    if not walk.output and not walk.ran:
        return
    if block.lang == "json":
        if walk.output:
            assert json.loads(walk.stdout) == json.loads(block.body), f"{where}: {walk.output}"
        return
    for line in lines:
        assert line in walk.output, f"{where}: {line!r} not printed; got:\n{walk.output}"


def check_file(path: Path, body: str, where: str) -> None:
    wanted = [line.strip() for line in body.splitlines() if line.strip()]
    lines = iter(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    for line in wanted:
        assert any(have == line for have in lines), f"{where}: {line!r} not in {path} (in order)"


def walk_the_guide(tmp_path: Path, *, with_service: bool) -> Walk:
    grpc, http, probes = free_ports(3)
    environ = {name: value for name, value in os.environ.items() if not name.startswith("ORDERS_")}
    environ.update(
        {
            "PATH": f"{BIN}{os.pathsep}{environ.get('PATH', '')}",
            "ORDERS_ORDERS_GRPC_SERVER_PORT": str(grpc),
            "ORDERS_ORDERS_SERVER_PORT": str(http),
            "ORDERS_PROBES_SERVER_PORT": str(probes),
            "ORDERS_ORDERS_GRPC_SERVER_REFLECTION_ENABLED": "true",
            "PYTHONUNBUFFERED": "1",
            "MYPY_CACHE_DIR": str(mypy_cache("scaffold")),
        }
    )
    environ.pop("VIRTUAL_ENV", None)
    walk = Walk(tmp_path, environ, {9000: grpc, 8080: http, 8081: probes}, with_service)
    try:
        for block in guide_blocks():
            follow(walk, block)
    finally:
        code = walk.stop()
    if with_service:
        assert code is not None, "the guide never started the service"
        assert "service orders stopped" in walk.log(), walk.log()
    return walk


def test_the_guide_has_the_blocks_the_walk_relies_on() -> None:
    blocks = guide_blocks()
    markers = [b.marker for b in blocks if b.marker]

    assert markers.count("background") == 1
    assert "append src/orders/server.py" in markers
    assert "file apis/orders.proto" in markers
    assert all(
        m.partition(" ")[0] in {"output", "file", "append", "background", "needs-service"}
        for m in markers
    )


@pytest.mark.integration
def test_the_guide_from_init_to_a_checked_project(tmp_path: Path) -> None:
    walk = walk_the_guide(tmp_path, with_service=False)

    project = tmp_path / "orders"
    assert walk.directory == project
    commands = [c.split()[:3] for c in walk.ran]
    for expected in (
        ["lbtoolkit", "init", "service"],
        ["make", "generate"],
        ["lbtoolkit", "check", "orders.main:build"],
        ["lbtoolkit", "add", "method"],
        ["make", "lint", "typecheck"],
        ["lbtoolkit", "describe"],
    ):
        assert expected in commands, f"{expected} not run; ran {walk.ran}"
    assert "rpc GetOrder(GetOrderRequest)" in (project / "apis/orders.proto").read_text()
    assert "async def get_order(" in (project / "src/orders/server.py").read_text()


@pytest.mark.slow
@pytest.mark.integration
def test_the_guide_with_the_service_running(tmp_path: Path) -> None:
    walk = walk_the_guide(tmp_path, with_service=True)

    called = [c for c in walk.ran if c.startswith("curl")]
    assert len(called) == 2, walk.ran
    assert "changed: " in walk.log(), "the edits did not restart the service"
