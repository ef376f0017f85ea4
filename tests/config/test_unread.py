"""Variables under the service prefix that no config reads."""

from __future__ import annotations

from pydantic import BaseModel

from lbtoolkit.config import (
    ConfigController,
    ConfigError,
    ConfigIssue,
    UnreadVariable,
    UnreadVariablesError,
    env,
)

OWNER = 'plugin "session_cache" (redis)'


class Cache(BaseModel):
    addr: str = env("ADDR", default="127.0.0.1:6379", aliases=("ENDPOINT",))
    database: int = env("DATABASE", default=0)


def unread(environ: dict[str, str], service_prefix: str = "MYSERVICE") -> list[str]:
    controller = ConfigController(service_prefix, environ)
    controller.parse(Cache, "session_cache", owner=OWNER)
    return [str(variable) for variable in controller.unread_variables()]


def test_an_unread_variable_is_named_with_the_closest_known_one() -> None:
    environ = {"MYSERVICE_SESSION_CACHE_ADR": "10.0.0.1:6379"}
    assert unread(environ) == [
        (
            "MYSERVICE_SESSION_CACHE_ADR is not read by anything; "
            "did you mean MYSERVICE_SESSION_CACHE_ADDR?"
        )
    ]


def test_nothing_is_suggested_when_no_known_name_is_close() -> None:
    assert unread({"MYSERVICE_FEATURE_FLAGS": "x"}) == [
        "MYSERVICE_FEATURE_FLAGS is not read by anything"
    ]


def test_names_read_by_a_config_aliases_included_are_not_reported() -> None:
    environ = {
        "MYSERVICE_SESSION_CACHE_ADDR": "a:1",
        "MYSERVICE_SESSION_CACHE_ENDPOINT": "a:1",
        "MYSERVICE_SESSION_CACHE_DATABASE": "2",
    }
    assert unread(environ) == []


def test_variables_outside_the_prefix_are_not_ours_to_judge() -> None:
    environ = {"PATH": "/bin", "OTHERSERVICE_SESSION_CACHE_HOST": "x", "MYSERVICEX_A": "y"}
    assert unread(environ) == []


def test_a_service_without_prefix_does_no_detection() -> None:
    assert unread({"SESSION_CACHE_ADR": "x", "ANYTHING": "y"}, service_prefix="") == []


def test_lower_case_names_are_reported_with_the_name_that_is_read() -> None:
    assert unread({"myservice_session_cache_database": "1"}) == [
        (
            "myservice_session_cache_database is not read by anything; "
            "did you mean MYSERVICE_SESSION_CACHE_DATABASE?"
        )
    ]


def test_names_read_elsewhere_are_recognised_by_the_callers_predicate() -> None:
    controller = ConfigController("MYSERVICE", {"MYSERVICE_CLIENT_USERS_TARGET": "users:9000"})
    assert [str(v) for v in controller.unread_variables()] == [
        "MYSERVICE_CLIENT_USERS_TARGET is not read by anything"
    ]
    assert controller.unread_variables(lambda name: name.endswith("_TARGET")) == []


def test_unread_variables_come_sorted_by_name() -> None:
    environ = {"MYSERVICE_B": "", "MYSERVICE_A": "", "MYSERVICE_C": ""}
    assert [v.name for v in ConfigController("MYSERVICE", environ).unread_variables()] == [
        "MYSERVICE_A",
        "MYSERVICE_B",
        "MYSERVICE_C",
    ]


def test_values_never_appear_in_the_report() -> None:
    controller = ConfigController("MYSERVICE", {"MYSERVICE_DB_PASWORD": "hunter2"})
    found = controller.unread_variables()
    error = UnreadVariablesError(found, "MYSERVICE_STRICT_ENV")
    assert "hunter2" not in repr(found)
    assert "hunter2" not in str(error)


def test_strict_error_lists_every_unread_variable_and_how_to_relax() -> None:
    error = UnreadVariablesError(
        [
            UnreadVariable("MYSERVICE_SESSION_CACHE_ADR", "MYSERVICE_SESSION_CACHE_ADDR"),
            UnreadVariable("MYSERVICE_FEATURE_FLAGS"),
        ],
        "MYSERVICE_STRICT_ENV",
    )
    assert isinstance(error, ConfigError)
    assert isinstance(error, ValueError)
    assert str(error) == (
        "2 environment variables are not read by anything (MYSERVICE_STRICT_ENV is true)\n"
        "  MYSERVICE_SESSION_CACHE_ADR is not read by anything; "
        "did you mean MYSERVICE_SESSION_CACHE_ADDR?\n"
        "  MYSERVICE_FEATURE_FLAGS is not read by anything\n"
        "Hint: correct or remove them, or set MYSERVICE_STRICT_ENV=false to only warn at start"
    )
    assert [(i.variable, i.message, i.hint) for i in error.issues] == [
        (
            "MYSERVICE_SESSION_CACHE_ADR",
            "not read by anything",
            "did you mean MYSERVICE_SESSION_CACHE_ADDR?",
        ),
        ("MYSERVICE_FEATURE_FLAGS", "not read by anything", ""),
    ]


def test_strict_error_also_lists_the_other_problems() -> None:
    missing = ConfigIssue("MYSERVICE_PGSQL_USERNAME", "required environment variable not set", "")
    error = UnreadVariablesError(
        [UnreadVariable("MYSERVICE_PGSQL_USER", "MYSERVICE_PGSQL_USERNAME")],
        "MYSERVICE_STRICT_ENV",
        [missing],
    )
    assert str(error) == (
        "1 environment variable is not read by anything (MYSERVICE_STRICT_ENV is true)\n"
        "  MYSERVICE_PGSQL_USER is not read by anything; did you mean MYSERVICE_PGSQL_USERNAME?\n"
        "Hint: correct or remove it, or set MYSERVICE_STRICT_ENV=false to only warn at start\n"
        "invalid configuration: 1 problem\n"
        "  MYSERVICE_PGSQL_USERNAME: required environment variable not set\n"
        "Hint: set MYSERVICE_PGSQL_USERNAME (run the service with --help to list every variable)"
    )
    assert error.issues[-1] is missing
