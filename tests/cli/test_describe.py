"""``lbtoolkit describe``: what a .proto file or a service declares, as a table or JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from lbtoolkit.cli import app

runner = CliRunner()
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
HELLO_WORLD = {
    "name": "HelloWorld",
    "grpc_path": "/billing.v1.Billing/HelloWorld",
    "request": "billing.v1.HelloWorldRequest",
    "response": "billing.v1.HelloWorldResponse",
    "streaming": "unary",
    "http": [{"method": "POST", "path": "/v1/hello", "body": "*"}],
    "websocket": False,
    "proxy": None,
    "middlewares": [],
    "exclude_global_middlewares": [],
}


def test_describe_json_of_the_project_protos(project: Path) -> None:
    runner.invoke(app, ["add", "plugin", "redis", "--prefix", "cache", "--no-generate"])

    result = runner.invoke(app, ["describe", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "files": [
            {
                "proto_file": "billing.proto",
                "plugins": [
                    {
                        "prefix": "cache",
                        "plugin": "redis",
                        "module": "lbtoolkit.plugins.redis",
                        "env_prefix": "{P}_CACHE_",
                        "scope": "file",
                    }
                ],
                "services": [
                    {
                        "name": "Billing",
                        "full_name": "billing.v1.Billing",
                        "servers": ["GRPC", "HTTP"],
                        "middlewares": [],
                        "plugins": [],
                        "methods": [HELLO_WORLD],
                    }
                ],
            }
        ]
    }


def test_describe_table_names_methods_bindings_and_plugins() -> None:
    result = runner.invoke(
        app, ["describe", str(DEMO / "protos" / "greeter.proto")], env={"COLUMNS": "200"}
    )

    assert result.exit_code == 0, result.output
    assert "demo.v1.Greeter (greeter.proto)" in result.stdout
    rows = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert (
        "SayHello demo.v1.SayHelloRequest demo.v1.SayHelloResponse unary GET /v1/hello/{name}"
        in rows
    )
    assert "redis cache {P}_CACHE_* file" in rows


def test_describe_a_service_gives_its_full_variable_prefixes() -> None:
    result = runner.invoke(app, ["describe", "greeter_demo.service:build", "--json"])

    assert result.exit_code == 0, result.output
    file = json.loads(result.stdout)["files"][0]
    assert file["plugins"] == [
        {
            "prefix": "cache",
            "plugin": "redis",
            "module": "lbtoolkit.plugins.redis",
            "env_prefix": "DEMO_CACHE_",
            "scope": "service",
        }
    ]
    assert [m["name"] for m in file["services"][0]["methods"]] == ["SayHello", "SetGreeting"]
    assert file["services"][0]["servers"] == ["grpc", "http"]


def test_describe_a_generated_module() -> None:
    result = runner.invoke(app, ["describe", "greeter_demo.gen.greeter_toolkit", "--json"])

    assert result.exit_code == 0, result.output
    services = json.loads(result.stdout)["files"][0]["services"]
    assert [s["full_name"] for s in services] == ["demo.v1.Greeter"]
    assert services[0]["methods"][0]["http"] == [
        {"method": "GET", "path": "/v1/hello/{name}", "body": ""}
    ]


def test_describe_errors_name_the_culprit(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["describe", str(tmp_path / "nope.proto")])
    broken_file = tmp_path / "broken.proto"
    broken_file.write_text('syntax = "proto3";\nmessage {\n')
    broken = runner.invoke(app, ["describe", str(broken_file)])
    module = runner.invoke(app, ["describe", "no_such_module_here"])

    assert missing.exit_code == 1
    assert missing.stderr == f"error: {tmp_path / 'nope.proto'}: no such file\n"
    assert broken.exit_code == 1
    assert broken.stderr.startswith("error: ")
    assert "broken.proto:2:" in broken.stderr
    assert module.exit_code == 1
    assert module.stderr.startswith("error: no_such_module_here: cannot import it")


def test_help_imports_nothing_heavy_beyond_the_package_itself() -> None:
    # lbtoolkit/__init__.py loads the runtime for its exports; the CLI must add nothing
    # heavy to that: no protoc, no code generator, no plugin, no HTTP routing, no watcher.
    script = (
        "import sys\n"
        "import lbtoolkit\n"
        "before = set(sys.modules)\n"
        "from lbtoolkit.cli import main\n"
        "sys.argv = ['lbtoolkit', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('lbtoolkit.', 'grpc_tools', 'google.protobuf', 'watchfiles', 'starlette')\n"
        "added = set(sys.modules) - before\n"
        "mine = 'lbtoolkit.cli'\n"
        "print(sorted(m for m in added if m.startswith(heavy) and not m.startswith(mine)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    assert "Usage: lbtoolkit" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"
