"""A newcomer's first hour, in one test: init, install, test, run, call, add a method, stop.

Everything runs as a newcomer would run it: the project's own virtualenv
(made by uv from the project's pyproject.toml, this checkout as lbtoolkit),
its Makefile, its console command, and real PostgreSQL, Redis and RabbitMQ.
tests/cli/test_init.py covers the scaffold's files and its checks in this
checkout's environment; this test covers the path through a fresh install.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import REPOSITORY
from tests.support.servers import free_ports

UV = REPOSITORY / ".tools" / "bin" / "uv"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0

# gRPC from the project's own environment: its generated messages, its grpcio.
CALL_HELLO = """
import sys

import grpc

from acme.gen import acme_pb2

with grpc.insecure_channel(sys.argv[1]) as channel:
    hello_world = channel.unary_unary(
        "/acme.v1.Acme/HelloWorld",
        request_serializer=acme_pb2.HelloWorldRequest.SerializeToString,
        response_deserializer=acme_pb2.HelloWorldResponse.FromString,
    )
    print(hello_world(acme_pb2.HelloWorldRequest(name="Ada"), timeout=5).message)
"""

PING = """
    async def ping(
        self,
        request: acme_pb2.PingRequest,  # noqa: ARG002 - a ping has no field
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> acme_pb2.PingResponse:
        return acme_pb2.PingResponse(message="pong")
"""


def run(command: list[str], project: Path, environ: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=project, env=environ, capture_output=True, text=True, check=False, timeout=900
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} in {project}:\n{printed}"
    return printed


class RunningService:
    """``python -m acme`` in the project's virtualenv, its output in a file."""

    def __init__(self, project: Path, environ: dict[str, str], probes: int, log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [str(project / ".venv" / "bin" / "python"), "-m", "acme"],
                cwd=project,
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        readiness = f"http://127.0.0.1:{probes}/_healthz/readiness"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the service ended:\n{self.output()}"
            try:
                if httpx.get(readiness, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.kill()
        pytest.fail(f"not ready within {START_TIMEOUT}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"not stopped within {STOP_TIMEOUT}s of SIGTERM:\n{self.output()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def install_fresh(project: Path, environ: dict[str, str]) -> None:
    """``lbtoolkit init`` with three plugins, then ``uv sync``: this checkout, a new virtualenv."""
    venv = project / ".venv" / "bin"
    # 1. The project, with this checkout as its lbtoolkit.
    run(
        [
            str(REPOSITORY / ".venv" / "bin" / "lbtoolkit"),
            "init",
            "service",
            "acme",
            "--postgres-gorm",
            "--redis",
            "--rabbitmq",
            "--dir",
            str(project),
            "--lbtoolkit-source",
            str(REPOSITORY),
        ],
        project.parent,
        environ,
    )

    # 2. A fresh virtualenv; from uv's cache when it has everything, else from the index.
    offline = subprocess.run(
        [str(UV), "sync", "--quiet", "--offline"], cwd=project, env=environ, check=False
    )
    if offline.returncode != 0:
        run([str(UV), "sync", "--quiet"], project, environ)
    assert (venv / "lbtoolkit").is_file()
    installed = run(
        [str(venv / "python"), "-c", "import lbtoolkit; print(lbtoolkit.__file__)"],
        project,
        environ,
    )
    assert installed.strip().startswith(str(REPOSITORY / "src")), installed


def add_ping(project: Path, environ: dict[str, str]) -> None:
    """``lbtoolkit add method``, a field in its response, ``make generate``, its implementation."""
    venv = project / ".venv" / "bin"
    added = run(
        [str(venv / "lbtoolkit"), "add", "method", "Ping", "--http", "get:/v1/ping"],
        project,
        environ,
    )
    assert "added method Ping" in added
    proto = project / "apis" / "acme.proto"
    text = proto.read_text()
    assert "message PingResponse {\n}" in text, text
    proto.write_text(
        text.replace(
            "message PingResponse {\n}", "message PingResponse {\n  string message = 1;\n}"
        )
    )
    run(["make", "generate"], project, environ)
    with (project / "src" / "acme" / "server.py").open("a") as server:
        server.write(PING)
    run(["make", "lint", "typecheck"], project, environ)


@pytest.mark.slow
@pytest.mark.integration
def test_init_install_test_run_call_add_a_method_and_stop(tmp_path: Path) -> None:
    if not UV.is_file():
        pytest.skip(f"{UV} is missing (make creates it)")
    project = tmp_path / "acme"
    grpc_port, http_port, probes_port = free_ports(3)
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in {"VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT"}
        and not name.startswith("ACME_")
    }
    environ["PATH"] = f"{project / '.venv' / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    environ.update(
        {
            "ACME_PGSQL_HOST": "127.0.0.1",
            "ACME_PGSQL_DATABASE": "test",
            "ACME_CACHE_ADDR": "127.0.0.1:6379",
            "ACME_BROKER_HOST": "127.0.0.1",
        }
    )

    install_fresh(project, environ)
    venv = project / ".venv" / "bin"

    # 3. Its own checks, green out of the box.
    run(["make", "lint", "typecheck", "test"], project, environ)

    # 4. Running on fresh ports, answering over gRPC and HTTP.
    served = {
        **environ,
        "ACME_ACME_GRPC_SERVER_LISTEN": "127.0.0.1",
        "ACME_ACME_GRPC_SERVER_PORT": str(grpc_port),
        "ACME_ACME_SERVER_LISTEN": "127.0.0.1",
        "ACME_ACME_SERVER_PORT": str(http_port),
        "ACME_PROBES_SERVER_LISTEN": "127.0.0.1",
        "ACME_PROBES_SERVER_PORT": str(probes_port),
    }
    service = RunningService(project, served, probes_port, tmp_path / "first.log")
    try:
        over_grpc = run(
            [str(venv / "python"), "-c", CALL_HELLO, f"127.0.0.1:{grpc_port}"], project, environ
        )
        over_http = httpx.post(
            f"http://127.0.0.1:{http_port}/v1/hello", json={"name": "Ada"}, timeout=5
        )
        first_stop = service.terminate()
    finally:
        service.kill()
    assert over_grpc.strip() == "Hello, Ada!"
    assert over_http.status_code == 200, over_http.text
    assert over_http.json() == {"message": "Hello, Ada!"}
    assert first_stop == 0, service.output()
    started = service.output()
    # The start-up summary names each plugin with its start duration.
    assert "service acme started in " in started
    for plugin in ("pgsql", "cache", "broker"):
        assert f" {plugin} " in started.split("service acme started in ", 1)[1].splitlines()[0]

    # 5. A method of one's own: added, given a field, regenerated, implemented.
    add_ping(project, environ)

    service = RunningService(project, served, probes_port, tmp_path / "second.log")
    try:
        pinged = httpx.get(f"http://127.0.0.1:{http_port}/v1/ping", timeout=5)
        hello = httpx.post(
            f"http://127.0.0.1:{http_port}/v1/hello", json={"name": "Bob"}, timeout=5
        )
        second_stop = service.terminate()
    finally:
        service.kill()
    assert pinged.status_code == 200, pinged.text
    assert pinged.json() == {"message": "pong"}
    assert hello.json() == {"message": "Hello, Bob!"}
    assert second_stop == 0, service.output()
    assert "service acme stopped" in service.output()
