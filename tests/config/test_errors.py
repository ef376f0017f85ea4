from __future__ import annotations

import pytest
from pydantic import BaseModel

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.config import ConfigError, ConfigIssue, ConfigModelError

OWNER = 'plugin "pgsql" (postgres_gorm)'


def test_issue_str_is_variable_and_message() -> None:
    issue = ConfigIssue("MYSERVICE_PGSQL_PORT", "'abc' is not a valid integer", OWNER)
    assert str(issue) == "MYSERVICE_PGSQL_PORT: 'abc' is not a valid integer"
    assert issue.hint == ""


def test_config_error_lists_every_issue_and_hints() -> None:
    error = ConfigError(
        [
            ConfigIssue("MYSERVICE_PGSQL_USERNAME", "required environment variable not set", OWNER),
            ConfigIssue("MYSERVICE_PGSQL_PORT", "'abc' is not a valid integer", OWNER),
            ConfigIssue("MYSERVICE_PGSQL_PASSWORD", "required environment variable not set", OWNER),
            ConfigIssue(
                "MYSERVICE_PGSQL_*",
                "no host",
                OWNER,
                hint="set MYSERVICE_PGSQL_HOST or MYSERVICE_PGSQL_DSN",
            ),
        ]
    )
    assert str(error) == (
        "invalid configuration: 4 problems\n"
        "  MYSERVICE_PGSQL_USERNAME: required environment variable not set\n"
        "  MYSERVICE_PGSQL_PORT: 'abc' is not a valid integer\n"
        "  MYSERVICE_PGSQL_PASSWORD: required environment variable not set\n"
        "  MYSERVICE_PGSQL_*: no host\n"
        "Hint: set MYSERVICE_PGSQL_USERNAME and MYSERVICE_PGSQL_PASSWORD"
        " (run the service with --help to list every variable)\n"
        "Hint: set MYSERVICE_PGSQL_HOST or MYSERVICE_PGSQL_DSN"
    )
    assert len(error.issues) == 4


def test_config_error_with_one_issue_and_no_hint() -> None:
    error = ConfigError([ConfigIssue("PORT", "'abc' is not a valid integer", OWNER)])
    assert str(error) == "invalid configuration: 1 problem\n  PORT: 'abc' is not a valid integer"


def test_missing_hint_with_one_name() -> None:
    error = ConfigError([ConfigIssue("A", "required environment variable not set", OWNER)])
    assert str(error).splitlines()[-1] == (
        "Hint: set A (run the service with --help to list every variable)"
    )


def test_missing_hint_joins_three_names() -> None:
    missing = "required environment variable not set"
    error = ConfigError([ConfigIssue(name, missing, OWNER) for name in ("A", "B", "C")])
    assert str(error).splitlines()[-1] == (
        "Hint: set A, B and C (run the service with --help to list every variable)"
    )


def test_errors_inherit_the_root_and_a_builtin() -> None:
    assert issubclass(ConfigError, LbToolkitError)
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigModelError, LbToolkitError)
    assert issubclass(ConfigModelError, TypeError)
    with pytest.raises(ValueError, match="invalid configuration"):
        raise ConfigError([ConfigIssue("X", "m", OWNER)])


def test_model_error_names_a_type() -> None:
    assert str(ConfigModelError(dict)) == (
        "config models must be pydantic BaseModel subclasses, got class dict"
    )


def test_model_error_names_an_object() -> None:
    assert str(ConfigModelError(3)) == (
        "config models must be pydantic BaseModel subclasses, got an instance of int"
    )


def test_model_error_on_an_instance_says_to_pass_the_class() -> None:
    class Options(BaseModel):
        host: str = "x"

    assert str(ConfigModelError(Options())) == (
        "config models must be pydantic BaseModel subclasses, got an instance of "
        "test_model_error_on_an_instance_says_to_pass_the_class.<locals>.Options\n"
        "Hint: pass the class "
        "test_model_error_on_an_instance_says_to_pass_the_class.<locals>.Options "
        "itself, not an instance of it"
    )


def test_model_error_with_a_problem() -> None:
    error = ConfigModelError(int, "field 'x' is wrong")
    assert str(error) == "config model class int: field 'x' is wrong"
    assert error.got is int
    assert error.problem == "field 'x' is wrong"
