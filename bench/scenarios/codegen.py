"""Code generation: ``lbtoolkit generate`` on a proto with 200 methods and 20 plugins."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

from bench.harness.context import ROOT, WORK, Context, python_env
from bench.harness.gen import lbtoolkit_generate
from bench.harness.results import Row, ScenarioResult
from bench.harness.scenario import Scenario
from bench.harness.stats import Summary

__all__ = ["SCENARIO", "big_proto"]

SERVICES = 4
METHODS_PER_SERVICE = 50
PLUGINS = 20
PLUGIN_KINDS = ("redis", "postgres_pgx", "postgres_gorm", "postgres_pg", "rabbitmq")
BUDGET_SECONDS = 2.0
PACKAGE = "gen200"
GO_OPTIONS = "github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/annotations.proto"
REQUEST_FIELDS = "string id = 1; int32 limit = 2; repeated string tags = 3;"
RESPONSE_FIELDS = "string id = 1; string name = 2; int64 version = 3;"


def big_proto() -> str:
    """200 unary methods in 4 services, half with HTTP routes, and 20 plugins."""
    lines = [
        'syntax = "proto3";',
        "",
        "package bigsvc;",
        "",
        'import "google/api/annotations.proto";',
        f'import "{GO_OPTIONS}";',
        "",
    ]
    lines += [
        f'option (toolkit.plugins) = {{prefix: "{kind}{i}" plugin: "{kind}"}};'
        for i, kind in ((i, PLUGIN_KINDS[i % len(PLUGIN_KINDS)]) for i in range(PLUGINS))
    ]
    for s in range(SERVICES):
        lines += [
            "",
            f"service Service{s} {{",
            "  option (toolkit.runtime) = {servers: [GRPC, HTTP]};",
        ]
        for m in range(METHODS_PER_SERVICE):
            name = f"Method{s}x{m}"
            route = ""
            if m % 2 == 0:
                route = f'option (google.api.http) = {{get: "/v1/s{s}/m{m}/{{id}}"}};'
            elif m % 4 == 1:
                route = f'option (google.api.http) = {{post: "/v1/s{s}/m{m}" body: "*"}};'
            lines.append(f"  rpc {name}({name}Request) returns ({name}Response) {{{route}}}")
        lines.append("}")
    for s in range(SERVICES):
        for m in range(METHODS_PER_SERVICE):
            name = f"Method{s}x{m}"
            lines += [
                "",
                f"message {name}Request {{ {REQUEST_FIELDS} }}",
                f"message {name}Response {{ {RESPONSE_FIELDS} }}",
            ]
    return "\n".join(lines) + "\n"


def _protoc(proto_dir: str, out: str) -> None:
    """protoc's stock Python, stub and gRPC generators alone, on the same file."""
    from lbtoolkit.proto import include_paths  # noqa: PLC0415 - the runner's own import

    includes = [f"-I{p}" for p in include_paths()]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            *includes,
            f"-I{proto_dir}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            "big.proto",
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


def run(ctx: Context, result: ScenarioResult) -> None:
    folder = WORK / "codegen"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    proto = folder / "big.proto"
    proto.write_text(big_proto())
    out = folder / "out" / PACKAGE
    stock = folder / "stock"
    generate: list[float] = []
    protoc: list[float] = []
    for _ in range(ctx.repeats):
        shutil.rmtree(folder / "out", ignore_errors=True)
        began = time.perf_counter()
        done = lbtoolkit_generate([proto], folder, out)
        generate.append(time.perf_counter() - began)
        if done.returncode != 0:
            msg = f"lbtoolkit generate failed:\n{done.stdout}{done.stderr}"
            raise RuntimeError(msg)
        shutil.rmtree(stock, ignore_errors=True)
        stock.mkdir()
        began = time.perf_counter()
        _protoc(str(folder), str(stock))
        protoc.append(time.perf_counter() - began)
        ctx.log(
            f"codegen: lbtoolkit generate {generate[-1]:.2f} s, protoc alone {protoc[-1]:.2f} s"
        )
    # The output must be importable code, not just files.
    subprocess.run(
        [sys.executable, "-c", f"import {PACKAGE}.big_toolkit"],
        check=True,
        cwd=ROOT,
        env=python_env({"PYTHONPATH": str(folder / "out")}),
    )
    lines = sum(len(p.read_text().splitlines()) for p in out.glob("*_toolkit.py"))
    value = Summary.of(generate)
    result.rows += [
        Row(
            "codegen",
            "`lbtoolkit generate`, 200 methods, 20 plugins (wall time)",
            f"the {BUDGET_SECONDS:g} s budget",
            value,
            Summary.of([BUDGET_SECONDS]),
            "s",
            higher_is_better=False,
            target=1.0,
        ),
        Row(
            "codegen",
            "`lbtoolkit generate`, 200 methods, 20 plugins (wall time)",
            "protoc's Python, stub and gRPC generators alone",
            value,
            Summary.of(protoc),
            "s",
            higher_is_better=False,
        ),
    ]
    result.notes.append(
        f"The generated toolkit module has {lines:,} lines; it imports (checked once per run)."
    )


SCENARIO = Scenario(
    name="codegen",
    title="Code generation",
    description=(
        f"`lbtoolkit generate` as a command (process start included) on one .proto file "
        f"with {SERVICES} services of {METHODS_PER_SERVICE} unary methods (half of them with "
        f"`google.api.http` routes), a request and a response message per method, and "
        f"{PLUGINS} file-level plugins; it writes messages, stubs, gRPC modules and the "
        f"toolkit module. Target: under {BUDGET_SECONDS:g} s, written as the ratio of the "
        "budget to the time (≥ 1 means within budget). For reference, protoc's stock "
        "generators alone on the same file."
    ),
    run=run,
    budget=20,
)
