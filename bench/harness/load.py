"""Load generators in a process of their own: wrk for HTTP/1.1, h2load for gRPC."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.harness.procs import pin

if TYPE_CHECKING:
    from pathlib import Path

    from bench.harness.context import Context

__all__ = ["LoadError", "LoadResult", "h2load", "wrk"]


class LoadError(RuntimeError):
    """A load run that failed, or whose responses were not all good."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    requests: int
    p50_ms: float | None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(
    ctx: Context,
    url: str,
    *,
    connections: int,
    duration: float,
    script: Path | None = None,
    threads: int = 1,
) -> LoadResult:
    """``wrk`` for ``duration`` seconds; any socket error or non-2xx answer fails the run."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", str(script)]
    out = _run(ctx, [*command, url], duration)
    rate = re.search(r"Requests/sec:\s*([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if rate is None or count is None:
        raise LoadError(f"wrk printed no rate:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if bad is not None and int(bad.group(1)) > 0:
        raise LoadError(f"{bad.group(1)} non-2xx answers from {url}:\n{out}")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if sockets is not None and any(int(n) for n in sockets.groups()):
        raise LoadError(f"socket errors against {url}:\n{out}")
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    p50_ms = float(p50.group(1)) * _UNITS[p50.group(2)] if p50 is not None else None
    return LoadResult(float(rate.group(1)), int(count.group(1)), p50_ms)


def h2load(
    ctx: Context,
    url: str,
    *,
    body: Path,
    concurrency: int,
    duration: float,
    warmup: float,
    min_data_per_request: int,
) -> LoadResult:
    """``h2load`` sending gRPC frames; ``concurrency`` streams in flight in all.

    gRPC reports errors in trailers with HTTP status 200, so a run also fails
    when the DATA bytes received fall short of one response message per request.
    """
    clients = min(concurrency, 16)
    streams = max(1, concurrency // clients)
    command = [
        "h2load",
        f"--duration={max(1, round(duration))}",
        f"--warm-up-time={max(0, round(warmup))}",
        f"--clients={clients}",
        f"--max-concurrent-streams={streams}",
        "--threads=1",
        f"--data={body}",
        "--header=content-type: application/grpc",
        "--header=te: trailers",
        url,
    ]
    out = _run(ctx, command, duration + warmup)
    rate = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    counts = re.search(
        r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        out,
    )
    data = re.search(r"headers \(space savings [^)]*\), [^(]*\((\d+)\) data", out)
    if rate is None or counts is None or data is None:
        raise LoadError(f"h2load printed no rate:\n{out}")
    done, succeeded = int(counts.group(2)), int(counts.group(3))
    failed = sum(int(counts.group(i)) for i in (4, 5, 6))
    if failed or succeeded == 0:
        raise LoadError(f"{failed} failed requests against {url}:\n{out}")
    if int(data.group(1)) < succeeded * min_data_per_request:
        raise LoadError(f"gRPC answers without a message (an error status?) from {url}:\n{out}")
    return LoadResult(float(rate.group(1)), done, None)


def _run(ctx: Context, command: list[str], seconds: float) -> str:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pin(process.pid, ctx.load_cpus)
    try:
        out, _ = process.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise LoadError(f"{command[0]} did not finish within {seconds + 30:g}s") from None
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise LoadError(f"{command[0]} exited with status {process.returncode}:\n{text}")
    return text
