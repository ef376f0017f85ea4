"""``lbtoolkit config``: a service's variables, and docs of them that must not drift."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lbtoolkit.cli import app

runner = CliRunner()
SERVICE = """
    import lbtoolkit
    from pydantic import BaseModel, SecretStr
    from lbtoolkit.config import env


    class Shop(BaseModel):
        currency: str = env("CURRENCY", comment="ISO code of prices")
        api_key: SecretStr = env("API_KEY", default="hunter2", comment="Key of | the payment API")
        greeting: str = env("GREETING", default="hello world", comment="Shown on the front page")


    def build() -> lbtoolkit.Service:
        app = lbtoolkit.new_service("shop", env_prefix="SHOP")
        app.register_config(Shop)
        return app
"""


@pytest.fixture
def target(service_module: Callable[[str], str]) -> str:
    return f"{service_module(SERVICE)}:build"


def test_config_lists_the_required_variables_unless_all(target: str) -> None:
    required = runner.invoke(app, ["config", target])
    every = runner.invoke(app, ["config", target, "--all"])

    assert required.exit_code == 0, required.output
    assert [line.split("|")[1].strip() for line in required.stdout.splitlines()[3:-1]] == [
        "SHOP_CURRENCY"
    ]
    assert "SHOP_LOG_LEVEL" in every.stdout
    assert "| SHOP_API_KEY " in every.stdout
    assert "hunter2" not in every.stdout


def test_config_yaml_and_markdown(target: str) -> None:
    as_yaml = runner.invoke(app, ["config", target, "--yaml"])
    markdown = runner.invoke(app, ["config", target, "--markdown"])

    assert as_yaml.stdout == '---\n# (required) ISO code of prices\nSHOP_CURRENCY: ""\n'
    lines = markdown.stdout.splitlines()
    assert lines[:2] == [
        "| Variable | Default | Required | Description |",
        "| --- | --- | --- | --- |",
    ]
    assert "| `SHOP_CURRENCY` |  | yes | ISO code of prices |" in lines
    assert "| `SHOP_API_KEY` | `******` | no | Key of \\| the payment API |" in lines


def test_env_example_blanks_secrets_and_quotes_spaces(target: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", target, "--env-example", str(tmp_path / "x.env")])

    assert result.exit_code == 0, result.output
    text = (tmp_path / "x.env").read_text()
    assert "# (required) ISO code of prices\nSHOP_CURRENCY=\n" in text
    assert (
        "# Key of | the payment API\n"
        "# (secret: keep its value out of files under version control)\n"
        "SHOP_API_KEY=\n"
    ) in text
    assert '# Shown on the front page\nSHOP_GREETING="hello world"\n' in text
    assert "hunter2" not in text


def test_check_docs_passes_then_reports_drift_with_a_diff(target: str, tmp_path: Path) -> None:
    env_file = tmp_path / ".env.example"
    doc = tmp_path / "config.md"
    runner.invoke(app, ["config", target, "--env-example", str(env_file)])
    table = runner.invoke(app, ["config", target, "--markdown"]).stdout
    doc.write_text(f"# Settings\n\n<!-- lbtoolkit:config -->\n{table}<!-- /lbtoolkit:config -->\n")

    fresh = runner.invoke(
        app, ["config", target, "--check-docs", str(env_file), "--check-docs", str(doc)]
    )
    doc.write_text(doc.read_text().replace("ISO code of prices", "Currency"))
    env_file.write_text(env_file.read_text().replace("SHOP_GREETING=", "SHOP_GREETNG="))
    before = doc.read_bytes()
    drifted = runner.invoke(
        app, ["config", target, "--check-docs", str(env_file), "--check-docs", str(doc)]
    )

    assert fresh.exit_code == 0, fresh.output
    assert drifted.exit_code == 1
    assert drifted.stderr == (
        f"error: {env_file}, {doc}: out of date with the service's variables; regenerate with "
        "--markdown or --env-example\n"
    )
    assert '-SHOP_GREETNG="hello world"\n+SHOP_GREETING="hello world"\n' in drifted.stdout
    assert "-| `SHOP_CURRENCY` |  | yes | Currency |\n" in drifted.stdout
    assert "+| `SHOP_CURRENCY` |  | yes | ISO code of prices |\n" in drifted.stdout
    assert doc.read_bytes() == before


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("nocolon", "error: 'nocolon': expected MODULE:APP, e.g. myservice.main:build\n"),
        (
            "absent_module_xyz:build",
            (
                "error: absent_module_xyz:build: no module named 'absent_module_xyz' "
                "(looked in {cwd})\n"
            ),
        ),
    ],
)
def test_bad_targets_are_named(
    argument: str, message: str, service_module: Callable[[str], str], tmp_path: Path
) -> None:
    result = runner.invoke(app, ["config", argument])

    assert result.exit_code == 1
    assert result.stderr == message.format(cwd=tmp_path.resolve())


def test_a_factory_that_fails_or_returns_something_else_is_named(
    service_module: Callable[[str], str],
) -> None:
    name = service_module(
        """
        def broken():
            raise RuntimeError("no database URL")

        def other():
            return 42

        value = 42
        """
    )

    broken = runner.invoke(app, ["config", f"{name}:broken"])
    other = runner.invoke(app, ["config", f"{name}:other"])
    value = runner.invoke(app, ["config", f"{name}:value"])
    missing = runner.invoke(app, ["config", f"{name}:absent"])

    assert (
        broken.stderr
        == f"error: {name}:broken: calling broken() failed: RuntimeError: no database URL\n"
    )
    assert other.stderr == f"error: {name}:other: other() returned a int, not a Service\n"
    assert value.stderr == f"error: {name}:value: value is a int, not a Service or a factory\n"
    assert missing.stderr == f"error: {name}:absent: module {name} has no attribute 'absent'\n"
    assert {broken.exit_code, other.exit_code, value.exit_code, missing.exit_code} == {1}
