"""``build_test_plugin``: the guide's ``NewTestPlugin`` for any plugin package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from lbtoolkit.config import ConfigError, env
from lbtoolkit.runtime import Runtime
from lbtoolkit.testing import build_test_plugin, new_test_runtime


class _Settings(BaseModel):
    port: int = env("PORT", default=1)
    name: str = env("NAME", default="cache")


class _Recorder:
    """A plugin that keeps what ``new_plugin`` received."""

    def __init__(self, runtime: Runtime, prefix: str) -> None:
        self.runtime = runtime
        self.settings = runtime.config.parse(_Settings, prefix, owner=f"plugin {prefix!r}")


ROOT = Path(__file__).resolve().parents[2]
# Prints what the process was given next to what a plugin built in it read.
_BUILD_IN_A_CHILD = """
import json, os, sys
from lbtoolkit.testing import build_test_plugin
from tests.testing.test_build_test_plugin import _Recorder
plugin = build_test_plugin(_Recorder, "cache")
print(json.dumps({
    "given": {"CACHE_PORT": os.environ["CACHE_PORT"], "argv": sys.argv[1:]},
    "read": {"CACHE_PORT": plugin.settings.port, "argv": plugin.runtime.argv},
}))
"""


@pytest.fixture(scope="module")
def built_in_a_child() -> dict[str, Any]:
    """A plugin built in a fresh process whose environment and command line would mislead it."""
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_IN_A_CHILD, "--help"],
        env={**os.environ, "CACHE_PORT": "9"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_plugin_reads_only_the_given_environ(built_in_a_child: dict[str, Any]) -> None:
    assert built_in_a_child["given"]["CACHE_PORT"] == "9"
    assert built_in_a_child["read"]["CACHE_PORT"] == 1
    plugin = build_test_plugin(_Recorder, "cache", environ={"CACHE_PORT": "7"})
    assert plugin.settings.port == 7


def test_variables_take_the_plugin_prefix_alone() -> None:
    plugin = build_test_plugin(_Recorder, "cache", environ={"CACHE_NAME": "sessions"})
    assert plugin.runtime.config.service_prefix == ""
    assert plugin.runtime.config.variable_name("NAME", "cache") == "CACHE_NAME"
    assert plugin.settings.name == "sessions"


def test_the_command_line_is_not_read(built_in_a_child: dict[str, Any]) -> None:
    assert built_in_a_child["given"]["argv"] == ["--help"]
    assert built_in_a_child["read"]["argv"] == []


class _Credentials(BaseModel):
    token: str = env("TOKEN")


def _two_configs(runtime: Runtime, prefix: str) -> tuple[_Settings, _Credentials]:
    return runtime.config.parse(_Settings, prefix), runtime.config.parse(_Credentials, prefix)


def test_every_config_problem_is_raised_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        build_test_plugin(_two_configs, "cache", environ={"CACHE_PORT": "many"})
    assert str(raised.value) == (
        "invalid configuration: 2 problems\n"
        "  CACHE_PORT: 'many' is not a valid integer\n"
        "  CACHE_TOKEN: required environment variable not set\n"
        "Hint: set CACHE_TOKEN (run the service with --help to list every variable)"
    )


def test_new_test_runtime_names_the_service_and_prefix() -> None:
    runtime = new_test_runtime("billing", env_prefix="SVC", environ={"SVC_LOG_LEVEL": "DEBUG"})
    assert runtime.meta.name == "billing"
    assert runtime.config.variable_name("HOST", "db") == "SVC_DB_HOST"
    assert runtime.settings.log_level == "DEBUG"
