"""``lbtoolkit add``: the .proto edited at its markers, or left byte for byte as it was."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from lbtoolkit.cli import app

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()


def proto_of(project: Path) -> Path:
    return project / "apis" / "billing.proto"


def test_add_method_inserts_the_rpc_and_its_messages_and_regenerates(project: Path) -> None:
    result = runner.invoke(app, ["add", "method", "CreateOrder", "--http", "POST:/v1/orders"])

    assert result.exit_code == 0, result.output
    text = proto_of(project).read_text()
    assert (
        "  rpc CreateOrder(CreateOrderRequest) returns (CreateOrderResponse) {\n"
        "    option (google.api.http) = {\n"
        '      post: "/v1/orders"\n'
        '      body: "*"\n'
        "    };\n"
        "  }\n"
        "  // +lbtoolkit:methods\n"
    ) in text
    assert text.endswith(
        "message CreateOrderRequest {\n}\n\n"
        "message CreateOrderResponse {\n}\n"
        "// +lbtoolkit:messages\n"
    )
    toolkit = (project / "src/billing/gen/billing_toolkit.py").read_text()
    assert "async def create_order(" in toolkit
    assert 'path="/v1/orders"' in toolkit


def test_add_method_websocket_and_proxy_forms(project: Path) -> None:
    events = runner.invoke(app, ["add", "method", "Events", "--ws", "/v1/events", "--no-generate"])
    proxied = runner.invoke(
        app,
        [
            "add",
            "method",
            "SayHello",
            "--http",
            "GET:/v1/greet/{name}",
            "--proxy",
            "helloworld:/helloworld.Greeter/SayHello",
            "--no-generate",
        ],
    )

    assert events.exit_code == 0, events.output
    assert proxied.exit_code == 0, proxied.output
    text = proto_of(project).read_text()
    assert "    option (toolkit.route) = {\n      websocket: true\n    };\n" in text
    assert '      get: "/v1/events"\n' in text
    assert (
        '      http_proxy: { service: "helloworld" method: "/helloworld.Greeter/SayHello" }\n'
    ) in text
    assert "message SayHelloRequest {\n  string name = 1;\n}\n" in text
    assert "events" not in (project / "src/billing/gen/billing_toolkit.py").read_text()


def test_add_plugin_for_the_file_and_for_one_service(project: Path) -> None:
    file_level = runner.invoke(app, ["add", "plugin", "redis", "--prefix", "cache"])
    service_level = runner.invoke(
        app, ["add", "plugin", "rabbitmq", "--prefix", "broker", "--service", "Billing"]
    )

    assert file_level.exit_code == 0, file_level.output
    assert service_level.exit_code == 0, service_level.output
    text = proto_of(project).read_text()
    assert (
        'option (toolkit.plugins) = {\n  prefix: "cache"\n  plugin: "redis"\n};\n'
        "// +lbtoolkit:plugins\n"
    ) in text
    assert (
        '    plugins: { prefix: "broker" plugin: "rabbitmq" }\n    // +lbtoolkit:service-plugins\n'
    ) in text
    toolkit = (project / "src/billing/gen/billing_toolkit.py").read_text()
    assert "class CachePlugin(redis.Plugin, Protocol):" in toolkit
    assert "class BrokerPlugin(rabbitmq.Plugin, Protocol):" in toolkit


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["method", "HelloWorld"],
            "error: method HelloWorld is already declared at {proto}:27",
        ),
        (
            ["method", "createOrder"],
            (
                "error: method 'createOrder': a method name is CamelCase: a capital letter, "
                "then letters and digits"
            ),
        ),
        (
            ["method", "CreateOrder", "--http", "FETCH:/v1/orders"],
            (
                "error: --http 'FETCH:/v1/orders': expected VERB:/path with VERB one of GET, PUT, "
                "POST, DELETE, PATCH, e.g. POST:/v1/orders or GET:/v1/orders/{{id}}"
            ),
        ),
        (
            ["method", "CreateOrder", "--http", "POST/v1/orders"],
            (
                "error: --http 'POST/v1/orders': expected VERB:/path with VERB one of GET, PUT, "
                "POST, DELETE, PATCH, e.g. POST:/v1/orders or GET:/v1/orders/{{id}}"
            ),
        ),
        (
            ["method", "Events", "--http", "GET:/v1/events", "--ws", "/v1/events"],
            (
                "error: --http and --ws: a WebSocket method is reached by GET at its --ws path; "
                "give one"
            ),
        ),
        (
            ["method", "Forward", "--proxy", "helloworld:/helloworld.Greeter/SayHello"],
            (
                "error: --proxy needs the route it answers: --http VERB:/path (an HTTP proxy) "
                "or --ws /path (a WebSocket proxy)"
            ),
        ),
        (
            ["method", "Forward", "--http", "GET:/v1/f", "--proxy", "helloworld:SayHello"],
            (
                "error: --proxy 'helloworld:SayHello': expected SERVICE:/package.Service/Method, "
                "e.g. helloworld:/helloworld.Greeter/SayHello"
            ),
        ),
        (
            ["plugin", "redis", "--prefix", "class"],
            (
                'error: {proto}: adding plugin "class" (redis) would break the file, '
                'left unchanged: billing.proto: option (toolkit.plugins): prefix "class" of '
                'plugin "redis" is not a valid identifier; use lower-case letters, digits and '
                "underscores, starting with a letter"
            ),
        ),
        (
            ["method", "CreateOrder", "--service", "Shipping"],
            (
                "error: {proto}: no `// +lbtoolkit:methods` marker inside service Shipping; "
                "add that comment line where new methods belong"
            ),
        ),
        (
            ["plugin", "memcached", "--prefix", "cache"],
            'error: unknown plugin "memcached"; installed plugins: '
            + ", ".join(sorted({e.name for e in entry_points(group="lbtoolkit.plugins")})),
        ),
        (
            ["plugin", "redis", "--prefix", "Cache"],
            (
                "error: --prefix 'Cache': a prefix is lowercase letters, digits and underscores, "
                "starting with a letter"
            ),
        ),
    ],
)
def test_refused_edits_leave_the_file_untouched(
    project: Path, arguments: list[str], message: str
) -> None:
    before = proto_of(project).read_bytes()
    generated = (project / "src/billing/gen/billing_toolkit.py").read_bytes()

    result = runner.invoke(app, ["add", *arguments])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message.format(proto=proto_of(project))]
    assert "Traceback" not in result.output
    assert proto_of(project).read_bytes() == before
    assert (project / "src/billing/gen/billing_toolkit.py").read_bytes() == generated


def test_a_prefix_taken_already_is_refused(project: Path) -> None:
    first = runner.invoke(app, ["add", "plugin", "redis", "--prefix", "cache", "--no-generate"])
    before = proto_of(project).read_bytes()

    second = runner.invoke(app, ["add", "plugin", "redis", "--prefix", "cache"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 1
    line = before.decode().splitlines().index('  prefix: "cache"') + 1
    assert second.stderr == (
        f'error: prefix "cache" is already declared at {proto_of(project)}:{line}\n'
    )
    assert proto_of(project).read_bytes() == before


def test_a_file_without_markers_is_refused(project: Path) -> None:
    proto = proto_of(project)
    proto.write_text(proto.read_text().replace("  // +lbtoolkit:methods\n", ""))
    before = proto.read_bytes()

    result = runner.invoke(app, ["add", "method", "CreateOrder"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {proto}: no `// +lbtoolkit:methods` marker; add that comment line where "
        "new methods belong\n"
    )
    assert proto.read_bytes() == before


def test_a_missing_proto_file_is_named(project: Path) -> None:
    result = runner.invoke(app, ["add", "method", "Ping", "--proto", "apis/missing.proto"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: --proto apis/missing.proto: no such file"


def test_a_proto_that_is_not_utf8_is_named_and_left_untouched(project: Path) -> None:
    proto = proto_of(project)
    broken = proto.read_bytes() + b"\n// \xff\xfe\n"
    proto.write_bytes(broken)
    result = runner.invoke(app, ["add", "method", "Ping", "--no-generate"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {proto}: not UTF-8 text")
    assert proto.read_bytes() == broken


def test_without_project_settings_a_proto_must_be_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["add", "method", "Ping"])
    assert result.exit_code == 1
    assert "pass --proto FILE" in result.output
