"""Help output, and the variables under the service prefix that nothing reads."""

from __future__ import annotations

import logging

import pytest
import yaml
from pydantic import BaseModel

import lbtoolkit
from lbtoolkit.client import target_variable
from lbtoolkit.config import UnreadVariablesError, env
from lbtoolkit.runtime import HelpShown, State
from lbtoolkit.runtime._help import render_help


class Cache(BaseModel):
    addr: str = env("ADDR", default="127.0.0.1:6379", comment="Server address")
    token: str = env("TOKEN", comment="Access token\nsecond line of the comment")


def new_app(
    environ: dict[str, str], *argv: str, env_prefix: str = "MYSERVICE"
) -> lbtoolkit.Service:
    app = lbtoolkit.new_service(
        "cachey",
        version="1.2.0",
        description="Caches things",
        env_prefix=env_prefix,
        environ=environ,
        argv=list(argv),
    )
    app.runtime.config.parse(Cache, "session_cache", owner='plugin "session_cache"')
    return app


TYPO = {"MYSERVICE_SESSION_CACHE_ADR": "10.0.0.1:6379", "MYSERVICE_SESSION_CACHE_TOKEN": "t0k"}
TYPO_WARNING = (
    "MYSERVICE_SESSION_CACHE_ADR is not read by anything; "
    "did you mean MYSERVICE_SESSION_CACHE_ADDR?"
)


def test_help_yaml_is_one_valid_document_with_the_header_as_comments() -> None:
    app = new_app({}, "help", "--all", "--yaml")
    text = render_help(app.runtime)
    document = yaml.safe_load(text)
    assert list(document) == [variable.name for variable in app.runtime.config.variables()]
    assert list(document)[:3] == [
        "MYSERVICE_LOG_LEVEL",
        "MYSERVICE_LOG_FORMAT",
        "MYSERVICE_SHUTDOWN_TIMEOUT",
    ]
    assert list(document)[-2:] == ["MYSERVICE_SESSION_CACHE_ADDR", "MYSERVICE_SESSION_CACHE_TOKEN"]
    assert document["MYSERVICE_STRICT_ENV"] == "false"
    assert text.startswith(
        "# cachey 1.2.0\n"
        "# Caches things\n"
        "#\n"
        "# Usage:\n"
        "#   cachey [help|-h|--help] [--all] [--yaml] [--without-comments]\n"
    )
    assert "#\n# Environment variables:\n---\n" in text


async def test_help_all_yaml_on_stdout_is_a_valid_config_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What `python main.py help --all --yaml > config.yaml` writes.
    app = new_app(TYPO, "help", "--all", "--yaml")
    with pytest.raises(HelpShown):
        await app.start()
    document = yaml.safe_load(capsys.readouterr().out)
    assert list(document) == [variable.name for variable in app.runtime.config.variables()]
    assert document["MYSERVICE_SESSION_CACHE_ADDR"] == "127.0.0.1:6379"


def test_help_yaml_without_comments_and_required_only_still_parses() -> None:
    text = render_help(new_app({}, "help", "--yaml", "--without-comments").runtime)
    assert yaml.safe_load(text) == {"MYSERVICE_SESSION_CACHE_TOKEN": ""}
    assert text.endswith(
        '# Required environment variables:\n---\nMYSERVICE_SESSION_CACHE_TOKEN: ""'
    )


def test_help_yaml_with_no_variable_to_show_is_an_empty_mapping() -> None:
    app = lbtoolkit.new_service("bare", env_prefix="BARE", environ={}, argv=["help", "--yaml"])
    assert yaml.safe_load(render_help(app.runtime)) == {}


def test_a_multi_line_description_stays_inside_comments() -> None:
    app = lbtoolkit.new_service(
        "multi", description="First line\nSecond line", environ={}, argv=["--yaml", "-h"]
    )
    text = render_help(app.runtime)
    assert text.startswith("# multi\n# First line\n# Second line\n#\n# Usage:\n")
    assert yaml.safe_load(text) == {}


def test_help_table_ends_with_the_unread_variables() -> None:
    text = render_help(new_app(TYPO, "help").runtime)
    assert text.endswith(f"\n\nWarnings:\n  {TYPO_WARNING}")
    assert "10.0.0.1" not in text


def test_help_yaml_lists_the_unread_variables_as_comments() -> None:
    text = render_help(new_app(TYPO, "--yaml", "help").runtime)
    assert text.endswith(f"\n#\n# Warnings:\n#   {TYPO_WARNING}")
    assert yaml.safe_load(text) == {"MYSERVICE_SESSION_CACHE_TOKEN": ""}


def test_help_table_has_no_warnings_when_everything_is_read() -> None:
    text = render_help(new_app({"MYSERVICE_SESSION_CACHE_ADDR": "a:1"}, "help").runtime)
    assert "Warnings" not in text


async def test_start_warns_about_each_unread_variable_without_its_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {**TYPO, "MYSERVICE_FEATURE_FLAGS": "secret-ish"}
    app = new_app(environ)
    with caplog.at_level(logging.WARNING, logger="lbtoolkit.config"):
        await app.start()
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name == "lbtoolkit.config"]
        assert warnings == ["MYSERVICE_FEATURE_FLAGS is not read by anything", TYPO_WARNING]
        assert "secret-ish" not in caplog.text
        assert "10.0.0.1" not in caplog.text
    finally:
        await app.stop()


async def test_client_targets_are_read_by_the_client_pool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    variable = target_variable("MYSERVICE", "users")
    app = new_app({variable: "users:9000", "MYSERVICE_SESSION_CACHE_TOKEN": "t"})
    with caplog.at_level(logging.WARNING, logger="lbtoolkit.config"):
        await app.start()
    await app.stop()
    assert [r for r in caplog.records if r.name == "lbtoolkit.config"] == []
    assert app.client.target("users") == "users:9000"


async def test_strict_env_fails_the_start_listing_every_unread_variable() -> None:
    environ = {
        "MYSERVICE_STRICT_ENV": "true",
        "MYSERVICE_SESSION_CACHE_ADR": "10.0.0.1:6379",
        "MYSERVICE_SESSION_CACHE_TOKN": "t0k",
    }
    app = new_app(environ)
    with pytest.raises(UnreadVariablesError) as caught:
        await app.start()
    assert str(caught.value) == (
        "2 environment variables are not read by anything (MYSERVICE_STRICT_ENV is true)\n"
        f"  {TYPO_WARNING}\n"
        "  MYSERVICE_SESSION_CACHE_TOKN is not read by anything; "
        "did you mean MYSERVICE_SESSION_CACHE_TOKEN?\n"
        "Hint: correct or remove them, or set MYSERVICE_STRICT_ENV=false to only warn at start\n"
        "invalid configuration: 1 problem\n"
        "  MYSERVICE_SESSION_CACHE_TOKEN: required environment variable not set\n"
        "Hint: set MYSERVICE_SESSION_CACHE_TOKEN"
        " (run the service with --help to list every variable)"
    )
    assert "t0k" not in str(caught.value)
    assert app.runtime.lifecycle.state is State.FAILED


async def test_strict_env_starts_when_everything_is_read() -> None:
    environ = {"MYSERVICE_STRICT_ENV": "true", "MYSERVICE_SESSION_CACHE_TOKEN": "t0k"}
    app = new_app(environ)
    await app.start()
    assert app.runtime.lifecycle.state is State.STARTED
    await app.stop()


async def test_a_service_without_prefix_does_no_detection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = new_app({"SESSION_CACHE_TOKEN": "t", "SESSION_CACHE_ADR": "x"}, env_prefix="")
    with caplog.at_level(logging.WARNING, logger="lbtoolkit.config"):
        await app.start()
    await app.stop()
    assert [r for r in caplog.records if r.name == "lbtoolkit.config"] == []
    assert "Warnings" not in render_help(app.runtime)
