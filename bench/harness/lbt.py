"""The lbtoolkit side of the server scenarios: the generated bench service."""

from __future__ import annotations

import functools
import importlib.util
import subprocess

from bench.harness.context import GEN, ROOT, python_env
from bench.harness.gen import PACKAGE

__all__ = ["SERVICE_MODULE", "lbt_env", "missing_server"]

# The module ``lbtoolkit generate`` writes for bench/protos/bench_service.proto.
SERVICE_MODULE = f"{PACKAGE}.bench_service_toolkit"


@functools.cache
def _service_problem(python: str) -> str | None:
    """Why the bench service cannot even print its help, or ``None``."""
    if not (GEN / PACKAGE / "bench_service_toolkit.py").exists():
        return "the bench service could not be generated (`lbtoolkit generate`)"
    result = subprocess.run(
        [python, "-m", "bench.servers.lbt_service", "--help"],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        return f"the bench service does not start: {lines[-1]}"
    return None


def missing_server(kind: str, python: str) -> str | None:
    """Why the lbtoolkit variant of ``kind`` ("grpc" or "http") cannot run, or ``None``."""
    if importlib.util.find_spec(f"lbtoolkit.server.{kind}") is None:
        return f"lbtoolkit.server.{kind} is not part of this tree yet"
    return _service_problem(python)


def lbt_env(*, grpc_port: int, http_port: int, probes_port: int) -> dict[str, str]:
    """Variables of the bench service (prefix ``LBB``, service ``bench``) for loopback."""
    return {
        "LBB_BENCH_GRPC_SERVER_LISTEN": "127.0.0.1",
        "LBB_BENCH_GRPC_SERVER_PORT": str(grpc_port),
        "LBB_BENCH_SERVER_LISTEN": "127.0.0.1",
        "LBB_BENCH_SERVER_PORT": str(http_port),
        "LBB_PROBES_SERVER_LISTEN": "127.0.0.1",
        "LBB_PROBES_SERVER_PORT": str(probes_port),
        "LBB_LOG_LEVEL": "WARNING",
    }
