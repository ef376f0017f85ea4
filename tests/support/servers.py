"""Private server instances for tests that stop, kill, restart or fill a server.

The machine's shared servers (PostgreSQL 5432, Redis 6379, RabbitMQ 5672) are
used by every test at once and must never be disturbed. A test that breaks a
server starts its own here, on free loopback ports with files in a temporary
directory of its own, and the server is stopped by its PID afterwards, even
when the test fails::

    with PrivateRabbitMQ() as broker:  # started; stopped and removed at exit
        broker.restart()

Each server has ``start()`` (also after ``stop()`` or ``kill()``: same port,
same data), ``stop()`` (graceful, bounded, then killed), ``kill()`` (SIGKILL,
a crash), ``restart()``, ``ensure_stopped()`` (stop and remove the files,
never raising for a server already gone; for a ``finally``), ``port`` and
``url``. Every wait is bounded. The methods block: from a coroutine, run them
with ``await asyncio.to_thread(server.restart)``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "LOOPBACK",
    "PrivatePostgres",
    "PrivateRabbitMQ",
    "PrivateRedis",
    "PrivateServerError",
    "free_port",
    "free_ports",
]

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
_LOG_TAIL_LINES = 20


class PrivateServerError(RuntimeError):
    """A private server could not be started, controlled or stopped."""

    def __init__(self, server: str, problem: str, log: Path | None = None) -> None:
        super().__init__(server, problem, log)
        self.server = server
        self.problem = problem
        self.log = log
        # Read now: the directory, log included, is removed when the server is cleaned up.
        self.log_tail = _tail(log) if log is not None else ""

    def __str__(self) -> str:
        text = f"{self.server}: {self.problem}"
        if self.log is None:
            return text
        return f"{text}\nlast lines of {self.log}:\n{self.log_tail}"


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError as error:
        return f"(unreadable: {error.strerror})"
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def free_ports(count: int) -> list[int]:
    """Loopback ports nobody listens on now; bound together, so they differ."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]


def free_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    return free_ports(1)[0]


class _PrivateServer(ABC):
    """Lifecycle shared by the private servers: a temporary directory and a process."""

    def __init__(self, kind: str, port: int | None, directory: Path | None = None) -> None:
        self.port = free_port() if port is None else port
        self._owns_directory = directory is None
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix=f"lbtoolkit-{kind}-"))
        self.directory = directory
        self._kind = kind

    def __repr__(self) -> str:
        return f"<private {self._kind} on {LOOPBACK}:{self.port}>"

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.ensure_stopped()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.ensure_stopped()

    @property
    @abstractmethod
    def url(self) -> str:
        """How clients reach the server."""

    @abstractmethod
    def start(self) -> None:
        """Start (again) on the same port and data; return once it answers."""

    @abstractmethod
    def stop(self) -> None:
        """Stop gracefully, killing the process when that does not finish in time."""

    @abstractmethod
    def kill(self) -> None:
        """Kill the process with SIGKILL, as a crash would, and wait until it is gone."""

    def restart(self) -> None:
        """Stop, then start on the same port and data."""
        self.stop()
        self.start()

    def ensure_stopped(self) -> None:
        """Stop whatever runs and remove the directory made for it; safe to call at any time."""
        try:
            self.stop()
        finally:
            if self._owns_directory:
                shutil.rmtree(self.directory, ignore_errors=True)

    def _kill_tree(self, pid: int) -> None:
        # Children left behind would hold ports or (PostgreSQL's backends) the
        # shared memory, and a new start would fail.
        survivors = _kill_tree(pid)
        if survivors:
            raise self.error(f"PID(s) {survivors} survived SIGKILL")

    def error(self, problem: str, log: Path | None = None) -> PrivateServerError:
        """An error naming this server (and showing the end of ``log``)."""
        return PrivateServerError(repr(self), problem, log)


# -- processes ------------------------------------------------------------------------


def _state(pid: int) -> str | None:
    """The process state letter of ``pid`` (``Z`` for a zombie), or None once it is reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rpartition(")")[2].split()[0]


def _alive(pid: int) -> bool:
    return _state(pid) not in {None, "Z", "X"}


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def _wait_gone(pids: list[int], timeout: float) -> bool:
    """Wait until ``pids`` are dead and reaped; a zombie is enough once ``timeout`` passed.

    Servers check a stale PID file with ``kill(pid, 0)``, which a zombie still
    passes, so a restart waits for the reaping too.
    """
    deadline = time.monotonic() + timeout
    while any(_state(pid) is not None for pid in pids):
        if time.monotonic() > deadline:
            return not any(_alive(pid) for pid in pids)
        time.sleep(0.05)
    return True


def _kill_tree(pid: int) -> list[int]:
    """SIGKILL ``pid`` and its children; return those still there after a bounded wait."""
    pids = [pid, *_children(pid)]
    for each in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(each, signal.SIGKILL)
    _wait_gone(pids, STOP_TIMEOUT)
    return [each for each in pids if _alive(each)]


def _pid_in(path: Path) -> int | None:
    """The PID on the first line of ``path``, if the file exists and holds one."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(path.read_text().split()[0])
    return None


def _run(
    server: _PrivateServer,
    args: list[str],
    timeout: float,
    *,
    env: dict[str, str] | None = None,
    account: tuple[int, int] | None = None,
) -> str:
    """Run a control command in the server's directory, as ``account`` (uid, gid) if given.

    Return its output; raise naming the command when it fails or overruns.
    """
    command = " ".join(args)
    user, group = (None, None) if account is None else account
    # Only the account's own group, not root's.
    groups: list[int] | None = None if account is None else []
    try:
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
            cwd=server.directory,
            user=user,
            group=group,
            extra_groups=groups,
        )
    except subprocess.TimeoutExpired as error:
        raise server.error(f"`{command}` did not finish within {timeout:g}s") from error
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise server.error(f"`{command}` exited with {result.returncode}:\n{output}")
    return result.stdout


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PrivateServerError(f"private {name}", f"{name} not found on PATH. Hint: install it")
    return path


def _wait_listening(server: _PrivateServer, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, server.port), 1):
            return
        if time.monotonic() > deadline:
            raise server.error(f"nothing listens after {timeout:g}s", log)
        time.sleep(0.05)


# -- Redis ----------------------------------------------------------------------------


class PrivateRedis(_PrivateServer):
    """A ``redis-server`` of its own, without persistence; ``extra_args`` go to its command line.

    Its files go to ``directory`` when given (several servers may share one).
    """

    def __init__(
        self, port: int | None = None, *extra_args: str, directory: Path | None = None
    ) -> None:
        super().__init__("redis", port, directory)
        self.extra_args = extra_args
        self.log = self.directory / f"redis-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        """``host:port``, as the redis plugin's ``ADDR`` takes it."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://{self.addr}/0"

    @property
    def pid(self) -> int | None:
        """The server's PID while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        if self.pid is not None:
            raise self.error("start: already running")
        server = _binary("redis-server")
        args = [
            server,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--logfile", str(self.log),
            *self.extra_args,
        ]  # fmt: skip
        self._process = subprocess.Popen(args)
        deadline = time.monotonic() + START_TIMEOUT
        while self._process.poll() is None:
            if self._answers_ping():
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.stop()
        raise self.error("did not answer PING", self.log)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), 1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
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


# -- RabbitMQ -------------------------------------------------------------------------


def _rabbitmq_scripts() -> Path:
    """The directory of RabbitMQ's own scripts (not the distribution's ``su`` wrappers).

    Debian's ``/usr/sbin/rabbitmqctl`` switches to the ``rabbitmq`` user and its
    home, and so to the shared node's Erlang cookie; the scripts behind it do not.
    """
    candidates = [Path("/usr/lib/rabbitmq/bin")]
    found = shutil.which("rabbitmq-server")
    if found is not None:
        candidates.append(Path(found).resolve().parent)
    for directory in candidates:
        if (directory / "rabbitmq-env").is_file() and (directory / "rabbitmqctl").is_file():
            return directory
    problem = (
        "rabbitmq-server with its scripts (rabbitmq-env, rabbitmqctl) not found in "
        f"{', '.join(map(str, candidates))}. Hint: install rabbitmq-server"
    )
    raise PrivateServerError("private RabbitMQ", problem)


class PrivateRabbitMQ(_PrivateServer):
    """A RabbitMQ node of its own: own name, ports, data, logs, Erlang cookie; no plugins.

    Its own cookie means no command sent here can reach the shared node.
    ``restart()`` stops and starts the broker application (``stop_app`` /
    ``start_app``), as an operator restarting RabbitMQ does: every client
    connection drops, durable queues and persistent messages survive.
    """

    def __init__(self) -> None:
        port, self.dist_port = free_ports(2)
        super().__init__("rabbitmq", port)
        self.node = f"lbtoolkit-{secrets.token_hex(6)}@localhost"
        self.log = self.directory / "log" / f"{self.node}.log"
        self._scripts = _rabbitmq_scripts()
        self._pid: int | None = None
        self._environ = self._prepare()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{LOOPBACK}:{self.port}/"

    @property
    def pid(self) -> int | None:
        """The node's PID (``beam.smp``) while it runs."""
        return self._pid

    def _prepare(self) -> dict[str, str]:
        directory = self.directory
        home = directory / "home"
        home.mkdir()
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        (directory / "rabbitmq.conf").write_text(f"listeners.tcp.local = {LOOPBACK}:{self.port}\n")
        (directory / "enabled_plugins").write_text("[].\n")
        (directory / "rabbitmq-env.conf").write_text("")
        return {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_PID_FILE": str(directory / "rabbitmq.pid"),
            # Private files, so nothing of the shared node's settings (its
            # node name, its listeners, a management plugin) is read.
            "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
        }

    def ctl(self, *args: str, timeout: float = STOP_TIMEOUT) -> str:
        """Run ``rabbitmqctl -n NODE ARGS`` against this node; return its output."""
        command = [str(self._scripts / "rabbitmqctl"), "-n", self.node, *args]
        return _run(self, command, timeout, env=self._environ)

    def start(self) -> None:
        if self._pid is not None:
            raise self.error("start: already running")
        server = str(self._scripts / "rabbitmq-server")
        _run(self, [server, "-detached"], START_TIMEOUT, env=self._environ)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            # await_startup fails at once while the node is not yet registered.
            while True:
                left = deadline - time.monotonic()
                try:
                    self.ctl("await_startup", "--timeout", str(max(int(left), 1)), timeout=left)
                    break
                except PrivateServerError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            self._pid = _pid_in(self.directory / "rabbitmq.pid")
            if self._pid is None:
                raise self.error("started, but wrote no PID file")
            _wait_listening(self, deadline - time.monotonic(), self.log)
        except PrivateServerError as error:
            self.stop()
            raise self.error(f"did not start: {error}", self.log) from error

    def restart(self) -> None:
        """Stop and start the broker application; the node (and its PID) stays."""
        self.ctl("stop_app")
        self.ctl("start_app", timeout=START_TIMEOUT)
        _wait_listening(self, START_TIMEOUT, self.log)

    def stop(self) -> None:
        pid = self._pid or _pid_in(self.directory / "rabbitmq.pid")
        self._pid = None
        if pid is None or not _alive(pid):
            return
        with contextlib.suppress(PrivateServerError):
            self.ctl("stop")
        if not _wait_gone([pid], STOP_TIMEOUT):
            self._kill_tree(pid)

    def kill(self) -> None:
        pid, self._pid = self._pid, None
        if pid is not None:
            self._kill_tree(pid)


# -- PostgreSQL -----------------------------------------------------------------------


def _postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb``."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        problem = "initdb not found in /usr/lib/postgresql/*/bin. Hint: install postgresql"
        raise PrivateServerError("private PostgreSQL", problem)
    return found[-1].parent


class PrivatePostgres(_PrivateServer):
    """A PostgreSQL cluster of its own (trust authentication) with a ``test`` database.

    Run as the ``postgres`` user when the tests run as root (the server refuses root).
    """

    DATABASE = "test"
    USER = "postgres"

    def __init__(self) -> None:
        super().__init__("postgres", None)
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self._bin = _postgres_bin()
        self._pid: int | None = None
        self._account: tuple[int, int] | None = None
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            self._account = (account.pw_uid, account.pw_gid)
            os.chown(self.directory, *self._account)

    @property
    def url(self) -> str:
        return f"postgresql://{self.USER}@{LOOPBACK}:{self.port}/{self.DATABASE}"

    @property
    def pid(self) -> int | None:
        """The postmaster's PID while it runs."""
        return self._pid

    def _tool(self, name: str, *args: str, timeout: float = START_TIMEOUT) -> None:
        _run(self, [str(self._bin / name), *args], timeout, account=self._account)

    def start(self) -> None:
        if self._pid is not None:
            raise self.error("start: already running")
        first = not self.data.exists()
        if first:
            self._tool("initdb", "-D", str(self.data), "-A", "trust", "-U", self.USER, "--no-sync")
        options = f"-p {self.port} -k {self.directory} -h {LOOPBACK} -F"
        try:
            self._tool(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                "-w", "-t", str(int(START_TIMEOUT)), "start",
            )  # fmt: skip
        except PrivateServerError as error:
            self.stop()
            raise self.error(f"did not start: {error}", self.log) from error
        self._pid = _pid_in(self.data / "postmaster.pid")
        if first:
            self._tool("createdb", "-h", str(self.directory), "-p", str(self.port), self.DATABASE)

    def stop(self) -> None:
        pid = self._pid or _pid_in(self.data / "postmaster.pid")
        self._pid = None
        if pid is None or not _alive(pid):
            return
        with contextlib.suppress(PrivateServerError):
            self._tool("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        if not _wait_gone([pid], STOP_TIMEOUT):
            self._kill_tree(pid)

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends: the whole server dies at once."""
        pid, self._pid = self._pid, None
        if pid is not None:
            self._kill_tree(pid)
