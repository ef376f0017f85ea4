"""docs/errors.md shows what the code prints: each sample is rendered from the code.

The page's format, which this test relies on: one ``## `ErrorName` (`Builtin`)``
section per error, saying its cause (``Cause:``) and its fix (``Fix:``); its sample
output, if it has one, is the fenced ``text`` block that directly follows the heading.
The status errors handlers raise share one section, a table with a row
``| `ErrorName` (`Builtin`) | ...`` each. Every sample needs a builder below that
constructs the error with the sample's data, and every builder a sample. Every
exception class a public package exports needs a section.
"""

from __future__ import annotations

import builtins
import importlib
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

import lbtoolkit
import lbtoolkit.config
import lbtoolkit.errors
import lbtoolkit.runtime
from lbtoolkit.config import (
    ConfigController,
    ConfigError,
    ConfigModelError,
    UnreadVariablesError,
    env,
)
from lbtoolkit.runtime import (
    DependencyCycleError,
    DependencyError,
    HookNameError,
    HookSignatureError,
    HookTimeoutError,
    LifecycleStateError,
    MisnamedHook,
    PluginConstructionError,
    ServiceSettings,
    ShutdownTimeoutError,
    StartError,
    StartInterruptedError,
    StartTimeoutError,
    StopError,
)
from lbtoolkit.server.http import PayloadTooLargeError, TranscodeError

ERRORS_PAGE = Path(__file__).parents[2] / "docs" / "errors.md"
_HEADING = re.compile(r"^## `(?P<name>\w+)` \(`(?P<builtin>\w+)`(?P<rest>[^)]*)\)$")
_ROW = re.compile(r"^\| `(?P<name>\w+)` \(`(?P<builtin>\w+)`\) \|")
_NOT_AN_ERROR = {"HelpShown"}  # documented next to the errors, printed by nobody


class Pgsql(BaseModel):
    username: str = env("USERNAME", comment="Database user")
    port: int = env("PORT", default=5432, comment="Database port")


def _config_controller(environ: dict[str, str]) -> ConfigController:
    # Parsed as a service parses them: its own settings first, then a plugin's config.
    controller = ConfigController("MYSERVICE", environ)
    controller.parse(ServiceSettings, owner='service "myservice"')
    controller.parse(Pgsql, "pgsql", owner='plugin "pgsql"')
    return controller


def config_error() -> BaseException:
    environ = {"MYSERVICE_PGSQL_PORT": "abc", "MYSERVICE_SHUTDOWN_TIMEOUT": "soon"}
    return ConfigError(_config_controller(environ).issues)


def unread_variables_error() -> BaseException:
    environ = {
        "MYSERVICE_PGSQL_USER": "app",
        "MYSERVICE_FEATURE_FLAGS": "beta",
        "MYSERVICE_STRICT_ENV": "true",
    }
    controller = _config_controller(environ)
    switch = controller.variable_name("STRICT_ENV")
    return UnreadVariablesError(controller.unread_variables(), switch, controller.issues)


def config_model_error() -> BaseException:
    return ConfigModelError(Pgsql(username="app"))


def dependency_error() -> BaseException:
    # dishka's drawing of the path, as the injector passes it on.
    path = (
        "Cannot find factory for (Repository, component=''). It is missing or has invalid scope.\n"
        "   │   ◈ Scope.APP, component='' ◈\n"
        "   ▼   myservice.Handlers\n"
        "   ╰─> myservice.Repository   ???"
    )
    return DependencyError("myservice.Repository", "myservice.Handlers", path)


def start_error() -> BaseException:
    cause = ConnectionError("connection refused")
    return StartError("plugins pre_start", cause, owner='plugin "pgsql"', hook="pre_start")


def stop_error() -> BaseException:
    return StopError(
        [
            ('plugin "cache" on_stop_sync', RuntimeError("flush failed")),
            ('plugin "pgsql" on_stop', TimeoutError("close timed out")),
        ]
    )


def hook_signature_error() -> BaseException:
    return HookSignatureError('plugin "pgsql"', "pre_start", "requires argument(s) 'ctx'")


def hook_name_error() -> BaseException:
    return HookNameError(
        [
            MisnamedHook('plugin "legacy"', "myapp.db.GoStylePlugin", "PreStart", "pre_start"),
            MisnamedHook("package Cache", "myapp.cache.Cache", "on_stopp", "on_stop"),
        ]
    )


def start_interrupted_error() -> BaseException:
    return StartInterruptedError("SIGTERM", "plugins pre_start", ['plugin "pgsql" pre_start'])


def plugin_construction_error() -> BaseException:
    return PluginConstructionError('plugin "pgsql"', ValueError("pool size must be positive"))


def lifecycle_state_error() -> BaseException:
    return LifecycleStateError("start", "started")


def dependency_cycle_error() -> BaseException:
    path = ['plugin "cache"', 'plugin "pgsql"', 'plugin "cache"']
    return DependencyCycleError(path, ["depends_on PgsqlPlugin", "constructor takes CachePlugin"])


def hook_timeout_error() -> BaseException:
    return HookTimeoutError(
        'plugin "pgsql"', "pre_start", 30.0, 30.0021, "MYSERVICE_PGSQL_START_TIMEOUT"
    )


def start_timeout_error() -> BaseException:
    running = ['plugin "pgsql" pre_start', 'plugin "redis" pre_start']
    return StartTimeoutError(60.0, 60.0004, running, "MYSERVICE_START_TIMEOUT")


def shutdown_timeout_error() -> BaseException:
    abandoned = ['plugin "pgsql" on_stop', "clients close", "dependency container close"]
    return ShutdownTimeoutError(
        30.0, abandoned, "MYSERVICE_SHUTDOWN_TIMEOUT", "MYSERVICE_DRAIN_DELAY"
    )


def payload_too_large_error() -> BaseException:
    return PayloadTooLargeError(4 * 1024 * 1024)


def transcode_error() -> BaseException:
    return TranscodeError("query", 'expected an integer, got "ten"', "page_size")


BUILDERS: dict[str, Callable[[], BaseException]] = {
    "ConfigError": config_error,
    "UnreadVariablesError": unread_variables_error,
    "ConfigModelError": config_model_error,
    "DependencyError": dependency_error,
    "StartError": start_error,
    "StopError": stop_error,
    "HookSignatureError": hook_signature_error,
    "HookNameError": hook_name_error,
    "StartInterruptedError": start_interrupted_error,
    "PluginConstructionError": plugin_construction_error,
    "LifecycleStateError": lifecycle_state_error,
    "DependencyCycleError": dependency_cycle_error,
    "HookTimeoutError": hook_timeout_error,
    "StartTimeoutError": start_timeout_error,
    "ShutdownTimeoutError": shutdown_timeout_error,
    "PayloadTooLargeError": payload_too_large_error,
    "TranscodeError": transcode_error,
}


def sections() -> dict[str, tuple[str, str | None]]:
    """Each documented error: ``name -> (builtin named in the heading, sample or None)``."""
    lines = ERRORS_PAGE.read_text().splitlines()
    found: dict[str, tuple[str, str | None]] = {}
    for index, line in enumerate(lines):
        row = _ROW.match(line)
        if row is not None:
            found[row["name"]] = (row["builtin"], None)
        match = _HEADING.match(line)
        if match is None:
            continue
        after = [text for text in lines[index + 1 :] if text.strip()]
        sample = None
        if after and after[0] == "```text":
            end = after.index("```")
            sample = "\n".join(after[1:end])
        found[match["name"]] = (match["builtin"], sample)
    return found


def section_texts() -> dict[str, str]:
    """The text of each ``##`` section about one error, heading excluded."""
    parts = re.split(r"^## ", ERRORS_PAGE.read_text(), flags=re.MULTILINE)
    found: dict[str, str] = {}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        match = _HEADING.match("## " + heading)
        if match is not None:
            found[match["name"]] = body
    return found


def public_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class exported by a public package (no ``_`` in its dotted name)."""
    packages = ["lbtoolkit"] + [
        info.name
        for info in pkgutil.walk_packages(lbtoolkit.__path__, "lbtoolkit.")
        if info.ispkg
        and not any(part.startswith("_") for part in info.name.split("."))
        and not info.name.startswith("lbtoolkit.proto.")
    ]
    found: dict[str, type[BaseException]] = {}
    for package in packages:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                assert found.setdefault(name, value) is value, f"two public errors named {name}"
    return found


def error_class(name: str) -> type[BaseException]:
    found = public_exceptions().get(name)
    if found is None:
        message = f"docs/errors.md documents {name}, which lbtoolkit does not export"
        raise AssertionError(message)
    return found


def test_the_status_table_shows_the_codes_the_errors_answer_with() -> None:
    rows = [line for line in ERRORS_PAGE.read_text().splitlines() if _ROW.match(line)]
    assert rows
    for row in rows:
        name, status, http = (cell.strip() for cell in row.strip("|").split("|"))
        cls = vars(lbtoolkit.errors)[name.split("`")[1]]
        assert status.split("`")[1] == cls.code.name, name
        assert int(http) == lbtoolkit.errors.http_status_of(cls.code), name


def test_every_public_exception_has_a_section() -> None:
    missing = sorted(set(public_exceptions()) - set(sections()))
    assert missing == [], f"docs/errors.md has no section for {missing}"


@pytest.mark.parametrize("name", sorted(set(section_texts()) - _NOT_AN_ERROR))
def test_each_section_says_cause_and_fix(name: str) -> None:
    text = section_texts()[name]
    assert "Cause:" in text, name
    assert "Fix:" in text, name


def test_the_page_documents_every_error_that_has_a_builder() -> None:
    documented = sections()
    with_samples = {name for name, (_, sample) in documented.items() if sample is not None}
    assert with_samples == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_sample_is_what_the_code_prints(name: str) -> None:
    _, sample = sections()[name]
    error = BUILDERS[name]()
    assert type(error).__name__ == name
    assert str(error) == sample


@pytest.mark.parametrize("name", sorted(sections()))
def test_each_error_derives_from_the_root_and_the_builtin_its_heading_names(name: str) -> None:
    builtin_name, _ = sections()[name]
    builtin = getattr(builtins, builtin_name)
    cls = error_class(name)
    assert issubclass(cls, builtin)
    assert name in _NOT_AN_ERROR or issubclass(cls, lbtoolkit.LbToolkitError)
