"""Child processes: servers on loopback ports, one-shot workers, CPU pinning."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from bench.harness.context import ROOT, WORK, python_env

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from bench.harness.context import Context

__all__ = ["ServerProcess", "free_port", "pin", "run_worker", "wait_for_port"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pin(pid: int, cpus: frozenset[int]) -> None:
    """Keep process ``pid`` (and the threads it starts later) on ``cpus``."""
    if cpus:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, cpus)


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            msg = f"exited with status {process.returncode} before listening on port {port}"
            raise RuntimeError(msg)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    msg = f"nothing listens on 127.0.0.1:{port} after {timeout:g}s"
    raise TimeoutError(msg)


class ServerProcess:
    """``python -m module args`` listening on ``port``; stopped with SIGTERM on exit."""

    def __init__(
        self,
        ctx: Context,
        label: str,
        module: str,
        *,
        args: Sequence[str],
        port: int,
        env: dict[str, str] | None = None,
        ports: Sequence[int] = (),
    ) -> None:
        self.ctx = ctx
        self.label = label
        self.port = port
        self._ports = (port, *ports)
        self._command = [ctx.python, "-m", module, *args]
        self._env = python_env(env)
        WORK.mkdir(parents=True, exist_ok=True)
        self.log_path = WORK / f"{label.replace(' ', '_').replace('/', '_')}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self._command, cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        pin(self.process.pid, self.ctx.server_cpus)
        try:
            for port in self._ports:
                wait_for_port(port, 60, self.process)
        except (RuntimeError, TimeoutError) as error:
            self.stop()
            msg = f"{self.label}: {error}\n{self.tail()}"
            raise RuntimeError(msg) from None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20) -> int | None:
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def run_worker(
    ctx: Context,
    module: str,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    *,
    timeout: float = 120,
    cpus: frozenset[int] | None = None,
) -> Any:
    """Run ``python -m module args`` to completion; return the JSON of its last line."""
    process = subprocess.Popen(
        [ctx.python, "-m", module, *args],
        cwd=ROOT,
        env=python_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pin(process.pid, ctx.server_cpus if cpus is None else cpus)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        msg = f"{module} {' '.join(args)}: no result within {timeout:g}s"
        raise RuntimeError(msg) from None
    lines = out.decode(errors="replace").strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = "\n".join(err.decode(errors="replace").splitlines()[-20:])
        msg = f"{module} {' '.join(args)} exited with status {process.returncode}:\n{tail}"
        raise RuntimeError(msg)
    return json.loads(lines[-1])


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
