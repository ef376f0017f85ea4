"""Helpers of the NATS tests: a private nats-server to restart, plugin building, waiting.

The shared server (127.0.0.1:4222) is never stopped: tests that restart or
kill a server start their own here, on a free port with a store directory of
its own, and stop it by its PID.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Self, cast

import pytest
from tests.support.servers import LOOPBACK, START_TIMEOUT, STOP_TIMEOUT, free_port

from lbtoolkit.plugins.nats import NatsPlugin, Options, new_plugin
from lbtoolkit.testing import new_test_runtime

if TYPE_CHECKING:
    from types import TracebackType

SHARED = "nats://127.0.0.1:4222"
_BINARIES = ("/usr/sbin/nats-server", "nats-server")


def make_plugin(
    service: str,
    environ: Mapping[str, str] | None = None,
    prefix: str = "nats",
    env_prefix: str = "",
) -> NatsPlugin:
    """A plugin of service ``service`` reading only ``environ``; bad variables raise."""
    runtime = new_test_runtime(service, env_prefix=env_prefix, environ=environ or {})
    plugin = cast("NatsPlugin", new_plugin(runtime, Options(prefix)))
    runtime.config.raise_for_issues()
    return plugin


async def wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    """Poll ``condition`` until true; fail with ``message`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s: {message}")
        await asyncio.sleep(0.02)


class PrivateNats:
    """A ``nats-server -js`` of its own: free loopback port, store in a temporary directory.

    ``extra_args`` go to its command line (``--user``, ``--pass``).

    ``start()`` (also after ``stop()``: same port, same store), ``stop()``
    (SIGTERM, bounded, then SIGKILL) and ``restart()`` block: from a
    coroutine, run them with ``asyncio.to_thread``.
    """

    def __init__(self, directory: Path, *extra_args: str) -> None:
        self.port = free_port()
        self.extra_args = extra_args
        self.directory = directory
        self.log = directory / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._process is not None and self._process.poll() is None:
            msg = f"{self!r} is already running"
            raise RuntimeError(msg)
        binary = next((b for b in _BINARIES if shutil.which(b)), None)
        if binary is None:
            pytest.skip("nats-server is not installed")
        args = [
            binary,
            "-js",
            "-a", LOOPBACK,
            "-p", str(self.port),
            "-sd", str(self.directory / "store"),
            "-l", str(self.log),
            *self.extra_args,
        ]  # fmt: skip
        self._process = subprocess.Popen(args)
        deadline = time.monotonic() + START_TIMEOUT
        while self._process.poll() is None and time.monotonic() < deadline:
            if self._listening():
                return
            time.sleep(0.05)
        self.stop()
        msg = f"{self!r} did not start listening; see {self.log}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __repr__(self) -> str:
        return f"<private nats-server on {LOOPBACK}:{self.port}>"

    def _listening(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), 1) as sock:
                return sock.recv(8).startswith(b"INFO")
        except OSError:
            return False
