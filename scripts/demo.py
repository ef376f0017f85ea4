"""Run the users and notifier examples side by side: ``make demo``.

Run with the project's virtualenv from the repository root:
``PYTHONPATH=examples/users:examples/notifier .venv/bin/python scripts/demo.py``.
Each service is a child process; every line it prints is prefixed with its
name. Ctrl+C or SIGTERM stops both (SIGTERM forwarded, waited for), exit 0.
Ports come from the services' own variables (``USERS_USERS_SERVER_PORT``, ...).
"""

# ruff: noqa: INP001, S603 - a script of the repository, running its own commands
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
COLOURS = {"users": "\033[36m", "notifier": "\033[35m", "mail": "\033[33m", "demo": "\033[1m"}
STOP_TIMEOUT = 40.0  # above the services' 30 s shutdown timeout

# Which variables point a service elsewhere than the local default; set, the check is skipped.
SERVERS = {
    "postgres": ("USERS_DB_HOST", "USERS_DB_DSN"),
    "redis": ("USERS_CACHE_ADDR", "USERS_CACHE_HOST"),
    "rabbitmq": (
        "USERS_EVENTS_HOST",
        "USERS_EVENTS_DSN",
        "NOTIFIER_EVENTS_HOST",
        "NOTIFIER_EVENTS_DSN",
    ),
}

_print_lock = threading.Lock()
# "2026-01-02 10:11:12,345 INFO  [users] logger: message": the column before "|" already
# names the service and the day is today, so a demo line keeps the time, the level and the rest.
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d),\d+ (\w+)\s+\[[^\]]*\] ")


def say(name: str, line: str) -> None:
    prefix = f"{name:>8} |"
    if sys.stdout.isatty():
        prefix = f"{COLOURS.get(name, '')}{prefix}\033[0m"
    with _print_lock:
        sys.stdout.write(f"{prefix} {line.rstrip()}\n")
        sys.stdout.flush()


def ensure_servers() -> bool:
    wanted = [s for s, names in SERVERS.items() if not any(n in os.environ for n in names)]
    if not wanted:
        return True
    done = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "ensure-services.sh"), *wanted], check=False
    )
    if done.returncode == 0:
        return True
    say("demo", "a server the demo needs is missing (see above); to use one elsewhere, set:")
    say("demo", "  PostgreSQL: USERS_DB_HOST, USERS_DB_PORT, USERS_DB_USERNAME,")
    say("demo", "              USERS_DB_PASSWORD, USERS_DB_DATABASE (or USERS_DB_DSN)")
    say("demo", "  Redis:      USERS_CACHE_ADDR (or USERS_CACHE_HOST, USERS_CACHE_PORT)")
    say(
        "demo",
        "  RabbitMQ:   USERS_EVENTS_DSN and NOTIFIER_EVENTS_DSN (amqp://user:password@host:5672/vhost)",
    )
    return False


def shorten(line: str) -> str:
    return _LOG_LINE.sub(lambda m: f"{m[1]} {m[2]:<7} ", line, count=1)


def pump(name: str, stream: IO[str]) -> None:
    for line in stream:
        say(name, shorten(line))


def start(name: str, module: str, environ: dict[str, str]) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", module],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if child.stdout is None:  # pragma: no cover - stdout=PIPE always gives one
        msg = f"{name}: no output pipe"
        raise RuntimeError(msg)
    threading.Thread(target=pump, args=(name, child.stdout), daemon=True).start()
    return child


def port(environ: dict[str, str], name: str, default: str) -> str:
    return environ.get(name, default)


def main() -> int:
    if not ensure_servers():
        return 1
    environ = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # GetUser falls back to PostgreSQL: a cache outage is reported, not a reason to leave rotation.
    environ.setdefault("USERS_CACHE_REQUIRED", "false")
    sink = None
    if "NOTIFIER_MAIL_HOST" not in environ:
        from notifier_service.mail_sink import MailSink  # noqa: PLC0415 - only when needed

        sink = MailSink(
            int(environ.get("NOTIFIER_MAIL_PORT", "2525")), lambda line: say("mail", line)
        )
        environ["NOTIFIER_MAIL_PORT"] = str(sink.port)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
    users_grpc = port(environ, "USERS_USERS_GRPC_SERVER_PORT", "9090")
    environ.setdefault("NOTIFIER_CLIENT_USERS_TARGET", f"127.0.0.1:{users_grpc}")
    children = {
        "users": start("users", "users_service", environ),
        "notifier": start("notifier", "notifier_service", environ),
    }
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - signal handler
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print_banner(environ, users_grpc)
    while not stopping.is_set():
        if any(child.poll() is not None for child in children.values()):
            break
        stopping.wait(0.2)
    codes = stop_children(children)
    if sink is not None:
        sink.shutdown()
        sink.server_close()
    for name, code in codes.items():
        say("demo", f"{name} exited with {code}")
    return 0 if stopping.is_set() and all(code == 0 for code in codes.values()) else 1


def stop_children(children: dict[str, subprocess.Popen[str]]) -> dict[str, int]:
    """SIGTERM to each child still running, then wait for all; their exit codes."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    codes = {}
    for name, child in children.items():
        try:
            codes[name] = child.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            codes[name] = child.wait()
    return codes


def print_banner(environ: dict[str, str], users_grpc: str) -> None:
    http = port(environ, "USERS_USERS_SERVER_PORT", "8080")
    notifier_http = port(environ, "NOTIFIER_NOTIFIER_SERVER_PORT", "8082")
    notifier_grpc = port(environ, "NOTIFIER_NOTIFIER_GRPC_SERVER_PORT", "9091")
    create = '{"email": "ada@example.com", "name": "Ada"}'
    run = "PYTHONPATH=examples/users .venv/bin/python -m"
    for line in (
        f"users:    gRPC 127.0.0.1:{users_grpc}, HTTP http://127.0.0.1:{http}",
        f"          docs http://127.0.0.1:{http}/docs",
        f"notifier: gRPC 127.0.0.1:{notifier_grpc}, HTTP http://127.0.0.1:{notifier_http}",
        f"          docs http://127.0.0.1:{notifier_http}/docs",
        "try:",
        f"  curl -X POST http://127.0.0.1:{http}/v1/users -d '{create}'",
        f"  curl http://127.0.0.1:{http}/v1/users/<id>",
        f"  {run} users_service.call 127.0.0.1:{users_grpc} get <id>",
        f"  {run} users_service.watch ws://127.0.0.1:{http}/connection/websocket",
        "Ctrl+C stops both",
    ):
        say("demo", line)


if __name__ == "__main__":
    sys.exit(main())
