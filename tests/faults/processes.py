"""The fault suite's service (``apps/service.py``) as a real process on loopback."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).parent / "apps" / "service.py"
ROOT = Path(__file__).parents[2]
START_TIMEOUT = 30.0
SERVICE = "users"
SERVICE_PREFIX = "LB"

# Every server on loopback and a port of the system's choosing.
LOOPBACK_SERVERS = {
    "LB_USERS_GRPC_SERVER_LISTEN": "127.0.0.1",
    "LB_USERS_GRPC_SERVER_PORT": "0",
    "LB_USERS_SERVER_LISTEN": "127.0.0.1",
    "LB_USERS_SERVER_PORT": "0",
    "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
    "LB_PROBES_SERVER_PORT": "0",
}


@dataclass(frozen=True)
class Ports:
    grpc: int
    http: int
    probes: int


@dataclass
class ServiceProcess:
    """A running service: its process, where its ports go, where its output goes."""

    process: subprocess.Popen[str]
    directory: Path

    @property
    def port_file(self) -> Path:
        return self.directory / "ports"

    def wait_started(self, timeout: float = START_TIMEOUT) -> Ports:
        """The ports, once the service has started; fails if it exits first."""
        deadline = time.monotonic() + timeout
        while not self.port_file.exists():
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"the service exited with {code}:\n{self.stderr()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the service did not start within {timeout:g}s")
            time.sleep(0.05)
        return Ports(*map(int, self.port_file.read_text().split()))

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stdout(self) -> str:
        return (self.directory / "stdout").read_text(errors="replace")

    def stderr(self) -> str:
        return (self.directory / "stderr").read_text(errors="replace")


@contextlib.contextmanager
def open_service(
    directory: Path,
    environ: Mapping[str, str] | None = None,
    *,
    args: tuple[str, ...] = (),
    plugins: str = "",
) -> Iterator[ServiceProcess]:
    """Start the service (killed at exit if still running); output goes to files in ``directory``.

    Files rather than pipes: a service that logs a lot never blocks on a full pipe.
    """
    directory.mkdir(parents=True, exist_ok=True)
    variables = {
        "PATH": os.environ["PATH"],
        "FAULT_PROTOS": str(directory / "protos"),
        "FAULT_PORT_FILE": str(directory / "ports"),
        "FAULT_PLUGINS": plugins,
        **LOOPBACK_SERVERS,
        **(environ or {}),
    }
    with (
        (directory / "stdout").open("w") as out,
        (directory / "stderr").open("w") as err,
    ):
        process = subprocess.Popen(
            [sys.executable, str(APP), *args],
            env=variables,
            stdout=out,
            stderr=err,
            text=True,
            cwd=ROOT,
        )
    try:
        yield ServiceProcess(process, directory)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
