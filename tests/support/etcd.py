"""A private etcd for tests that stop, kill or restart it (there is no shared one).

``PrivateEtcd`` runs Debian's ``etcd`` (3.4, installed by
``scripts/ensure-etcd.sh``) as a one-member cluster on two free loopback
ports (client and peer) with a data directory of its own; ``start()`` after
``stop()`` or ``kill()`` reuses the ports and the data, as a restarted etcd
would. The process is stopped by its PID, even when the test fails::

    with PrivateEtcd() as etcd:  # started; stopped and removed at exit
        etcd.kill()
        etcd.start()
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

from tests.support.servers import (
    LOOPBACK,
    START_TIMEOUT,
    STOP_TIMEOUT,
    _binary,
    _PrivateServer,
    free_ports,
)

__all__ = ["PrivateEtcd", "enable_auth", "etcdctl"]


class PrivateEtcd(_PrivateServer):
    """A one-member etcd cluster of its own: client and peer ports, data, log."""

    def __init__(self) -> None:
        port, self.peer_port = free_ports(2)
        super().__init__("etcd", port)
        self.data = self.directory / "data"
        self.log = self.directory / "etcd.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """``host:port`` of the client port, as the plugin's ``ENDPOINTS`` takes it."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def pid(self) -> int | None:
        """The server's PID while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        if self.pid is not None:
            raise self.error("start: already running")
        peer = f"http://{LOOPBACK}:{self.peer_port}"
        args = [
            _binary("etcd"),
            "--name", "private",
            "--data-dir", str(self.data),
            "--listen-client-urls", self.url,
            "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"private={peer}",
            "--initial-cluster-state", "new",
            "--logger", "zap",
            "--log-outputs", str(self.log),
        ]  # fmt: skip
        # Its own session: a Ctrl-C in the test run reaches pytest, which stops it by PID.
        # gRPC's own warnings bypass --log-outputs: they go next to the log, not to the test output.
        with (self.directory / "etcd.stderr").open("ab") as stderr:
            self._process = subprocess.Popen(
                args, cwd=self.directory, start_new_session=True, stdout=stderr, stderr=stderr
            )
        deadline = time.monotonic() + START_TIMEOUT
        while self._process.poll() is None:
            if self._healthy():
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.stop()
        raise self.error("did not report healthy on /health", self.log)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:  # noqa: S310 - our own loopback URL
                return bool(json.load(answer).get("health") == "true")
        except (OSError, ValueError, urllib.error.URLError):
            return False

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

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT)


def etcdctl(etcd: PrivateEtcd, *args: str, user: str = "") -> str:
    """Run ``etcdctl`` against ``etcd`` (as ``user``, ``name:password``, when given)."""
    command = [_binary("etcdctl"), "--endpoints", etcd.endpoint]
    if user:
        command += ["--user", user]
    result = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=STOP_TIMEOUT,
        check=False,
        env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
    )
    if result.returncode != 0:
        problem = f"`etcdctl {' '.join(args)}` exited with {result.returncode}: {result.stderr}"
        raise etcd.error(problem.strip())
    return result.stdout


def enable_auth(etcd: PrivateEtcd, password: str) -> None:
    """Turn authentication on, with ``root`` (every right) logging in with ``password``."""
    etcdctl(etcd, "user", "add", f"root:{password}")
    etcdctl(etcd, "auth", "enable")
