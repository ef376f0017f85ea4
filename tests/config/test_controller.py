"""Parsing, collected problems, duplicates and the registry."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pytest
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from lbtoolkit.config import ConfigController, ConfigError, ConfigIssue, ConfigModelError, env

PGSQL = 'plugin "pgsql" (postgres_gorm)'


class PgOptions(BaseModel):
    host: str = env("HOST", default="localhost", comment="Database host")
    port: int = env("PORT", default=5432, comment="Database port")
    username: str = env("USERNAME", comment="Database username")
    password: SecretStr = env("PASSWORD", comment="Database password")
    database: str = env("DATABASE", comment="Database name")
    timeout: dt.timedelta = env("TIMEOUT", default="5s", comment="Connect timeout")


def test_valid_environment_gives_a_typed_instance_and_no_issues() -> None:
    environ = {
        "MYSERVICE_PGSQL_USERNAME": "user",
        "MYSERVICE_PGSQL_PASSWORD": "pass",
        "MYSERVICE_PGSQL_DATABASE": "mydb",
        "MYSERVICE_PGSQL_PORT": "6432",
    }
    controller = ConfigController("MYSERVICE", environ)
    options = controller.parse(PgOptions, "pgsql", owner=PGSQL)
    assert options == PgOptions(
        host="localhost",
        port=6432,
        username="user",
        password=SecretStr("pass"),
        database="mydb",
        timeout=dt.timedelta(seconds=5),
    )
    assert controller.issues == []
    controller.raise_for_issues()


def test_every_problem_is_reported_together() -> None:
    environ = {"MYSERVICE_PGSQL_PORT": "abc", "MYSERVICE_PGSQL_DATABASE": "mydb"}
    controller = ConfigController("MYSERVICE", environ)
    options = controller.parse(PgOptions, "pgsql", owner=PGSQL)
    assert controller.issues == [
        ConfigIssue("MYSERVICE_PGSQL_PORT", "'abc' is not a valid integer", PGSQL),
        ConfigIssue("MYSERVICE_PGSQL_USERNAME", "required environment variable not set", PGSQL),
        ConfigIssue("MYSERVICE_PGSQL_PASSWORD", "required environment variable not set", PGSQL),
    ]
    with pytest.raises(ConfigError) as caught:
        controller.raise_for_issues()
    assert str(caught.value) == (
        "invalid configuration: 3 problems\n"
        "  MYSERVICE_PGSQL_PORT: 'abc' is not a valid integer\n"
        "  MYSERVICE_PGSQL_USERNAME: required environment variable not set\n"
        "  MYSERVICE_PGSQL_PASSWORD: required environment variable not set\n"
        "Hint: set MYSERVICE_PGSQL_USERNAME and MYSERVICE_PGSQL_PASSWORD"
        " (run the service with --help to list every variable)"
    )
    assert caught.value.issues == tuple(controller.issues)
    # Construction goes on with defaults and zero values.
    assert options.port == 5432
    assert options.username == ""
    assert options.database == "mydb"
    assert options.timeout == dt.timedelta(seconds=5)


def test_issues_accumulate_across_parses() -> None:
    class Cache(BaseModel):
        host: str = env("HOST")

    controller = ConfigController("svc", {"SVC_PGSQL_PORT": "x"})
    controller.parse(PgOptions, "pgsql", owner=PGSQL)
    controller.parse(Cache, "redis", owner="redis")
    assert [issue.variable for issue in controller.issues] == [
        "SVC_PGSQL_PORT",
        "SVC_PGSQL_USERNAME",
        "SVC_PGSQL_PASSWORD",
        "SVC_PGSQL_DATABASE",
        "SVC_REDIS_HOST",
    ]


def test_default_owner_names_model_and_prefix() -> None:
    controller = ConfigController()
    controller.parse(PgOptions, "pgsql")
    assert controller.issues[0].owner == "PgOptions (prefix 'pgsql')"
    assert controller.variables()[0].owner == "PgOptions (prefix 'pgsql')"


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        (int, "class int"),
        (object, "class object"),
        ("PgOptions", "an instance of str"),
        (None, "an instance of NoneType"),
    ],
)
def test_parse_rejects_a_non_model_naming_it(model: object, shown: str) -> None:
    controller = ConfigController()
    with pytest.raises(ConfigModelError) as caught:
        controller.parse(model)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"config models must be pydantic BaseModel subclasses, got {shown}"
    )
    assert controller.variables() == []


def test_parse_rejects_an_instance() -> None:
    class Options(BaseModel):
        host: str = "h"

    with pytest.raises(ConfigModelError, match=r"pass the class .*Options itself"):
        ConfigController().parse(Options())  # type: ignore[arg-type]


class CacheOptions(BaseModel):
    host: str = env("HOST", default="localhost", comment="Cache host")
    ttl: dt.timedelta = env("TTL", default=dt.timedelta(minutes=1))


def test_the_same_variable_from_two_owners_is_a_duplicate() -> None:
    controller = ConfigController("MYSERVICE")
    controller.parse(CacheOptions, "cache", owner='plugin "cache" (redis)')
    controller.parse(CacheOptions, "cache", owner='plugin "cache" (postgres_gorm)')
    assert [str(issue) for issue in controller.issues] == [
        (
            'MYSERVICE_CACHE_HOST: defined by both plugin "cache" (redis)'
            ' and plugin "cache" (postgres_gorm)'
        ),
        (
            'MYSERVICE_CACHE_TTL: defined by both plugin "cache" (redis)'
            ' and plugin "cache" (postgres_gorm)'
        ),
    ]
    assert controller.issues[0].owner == 'plugin "cache" (postgres_gorm)'
    assert controller.issues[0].hint == "parse one of them with another prefix"
    with pytest.raises(ConfigError, match="Hint: parse one of them with another prefix"):
        controller.raise_for_issues()


def test_an_alias_clashing_with_another_owners_name_is_a_duplicate() -> None:
    class Legacy(BaseModel):
        addr: str = env("ADDR", default="x", aliases=("HOST",))

    controller = ConfigController()
    controller.parse(CacheOptions, owner="cache")
    controller.parse(Legacy, owner="legacy")
    assert [str(issue) for issue in controller.issues] == ["HOST: defined by both cache and legacy"]


def test_parsing_again_with_the_same_owner_replaces() -> None:
    controller = ConfigController("svc", {"SVC_CACHE_HOST": "a"})
    first = controller.parse(CacheOptions, "cache", owner="cache")
    second = controller.parse(CacheOptions, "cache", owner="cache")
    assert controller.issues == []
    assert [var.name for var in controller.variables()] == ["SVC_CACHE_HOST", "SVC_CACHE_TTL"]
    assert first == second
    assert controller.parsed("cache") == [second]


def test_replacing_drops_the_old_issues_and_keeps_the_position() -> None:
    environ = {"SVC_CACHE_HOST": "h"}
    controller = ConfigController("svc", environ)
    controller.parse(PgOptions, "pgsql", owner=PGSQL)
    controller.parse(CacheOptions, "cache", owner="cache")
    controller.parse(PgOptions, "pgsql", owner=PGSQL)
    names = [var.name for var in controller.variables()]
    assert names[0] == "SVC_PGSQL_HOST"
    assert names[-1] == "SVC_CACHE_TTL"
    assert len(controller.issues) == 3


def test_parsed_returns_instances_by_prefix() -> None:
    controller = ConfigController()
    cache = controller.parse(CacheOptions, "cache")
    assert controller.parsed("cache") == [cache]
    assert controller.parsed("other") == []


def test_environ_defaults_to_a_snapshot_of_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAP_CACHE_HOST", "from-os")
    controller = ConfigController("snap")
    monkeypatch.setenv("SNAP_CACHE_HOST", "changed-later")
    assert controller.parse(CacheOptions, "cache").host == "from-os"
    assert controller.service_prefix == "snap"


def test_add_issue_reports_with_the_rest() -> None:
    controller = ConfigController("svc")
    controller.parse(CacheOptions, "cache")
    issue = ConfigIssue("SVC_CACHE_HOST", "unreachable", "cache", hint="check SVC_CACHE_HOST")
    controller.add_issue(issue)
    assert controller.issues == [issue]
    with pytest.raises(ConfigError) as caught:
        controller.raise_for_issues()
    assert str(caught.value) == (
        "invalid configuration: 1 problem\n"
        "  SVC_CACHE_HOST: unreachable\n"
        "Hint: check SVC_CACHE_HOST"
    )


SENSITIVE = "hunter2-very-sensitive"


class Secrets(BaseModel):
    password: SecretStr = env("PASSWORD", default=SENSITIVE, comment="Password")
    token: SecretStr = Field(default=SecretStr(SENSITIVE), min_length=30)
    extra: dict[str, SecretStr] = env("EXTRA", default={})
    dsn: SecretStr | None = env("DSN", default=None)

    @field_validator("dsn")
    @classmethod
    def check_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and "://" not in value.get_secret_value():
            msg = f"{value.get_secret_value()} has no scheme"
            raise ValueError(msg)
        return value


def test_secrets_never_appear_in_messages() -> None:
    environ = {"S_TOKEN": SENSITIVE, "S_EXTRA": SENSITIVE, "S_DSN": SENSITIVE}
    controller = ConfigController("s", environ)
    parsed = controller.parse(Secrets, owner="secrets")
    assert [str(issue) for issue in controller.issues] == [
        (
            "S_TOKEN: invalid value (hidden): "
            "Value should have at least 30 items after validation, not 22"
        ),
        "S_EXTRA: invalid value (hidden)",
        "S_DSN: invalid value (hidden)",
    ]
    with pytest.raises(ConfigError) as caught:
        controller.raise_for_issues()
    assert SENSITIVE not in str(caught.value)
    assert SENSITIVE not in repr(caught.value)
    assert parsed.password.get_secret_value() == SENSITIVE
    assert parsed.dsn is None


def test_a_whole_model_message_quoting_a_secret_is_hidden() -> None:
    class Dsn(BaseModel):
        dsn: SecretStr = env("DSN", default="")
        name: str = env("NAME", default="")

        @model_validator(mode="after")
        def check(self) -> Dsn:
            text = self.dsn.get_secret_value() or self.name
            if "://" not in text:
                msg = f"{text} has no scheme"
                raise ValueError(msg)
            return self

    controller = ConfigController("", {"DSN": SENSITIVE})
    controller.parse(Dsn, owner="db")
    assert controller.issues == [ConfigIssue("Dsn", "invalid value (hidden)", "db")]
    controller = ConfigController("", {"NAME": "plain"})
    controller.parse(Dsn, owner="db")
    assert controller.issues == [ConfigIssue("Dsn", "plain has no scheme", "db")]


def test_a_failing_model_still_keeps_the_valid_values_typed() -> None:
    class Mixed(BaseModel):
        timeout: dt.timedelta = env("TIMEOUT", default="1s")
        port: int = Field(default=1, gt=0)
        password: SecretStr = env("PASSWORD", default="")

    environ = {"TIMEOUT": "2m", "PORT": "-5", "PASSWORD": "pw"}
    controller = ConfigController("", environ)
    mixed = controller.parse(Mixed)
    assert [str(issue) for issue in controller.issues] == ["PORT: -5 is out of range (over 0)"]
    assert mixed.timeout == dt.timedelta(minutes=2)
    assert mixed.port == 1
    assert mixed.password.get_secret_value() == "pw"


def test_a_value_only_a_before_validator_accepts_is_kept_as_default() -> None:
    class Loose(BaseModel):
        port: Literal[80, 443] = env("PORT", default=80)
        level: int = Field(default=1, lt=10)

        @field_validator("port", mode="before")
        @classmethod
        def named_port(cls, value: object) -> object:
            return 443 if value == "https" else value

    controller = ConfigController("", {"PORT": "https", "LEVEL": "20"})
    loose = controller.parse(Loose)
    assert [str(issue) for issue in controller.issues] == ["LEVEL: 20 is out of range (under 10)"]
    # Outside the whole model the text cannot be checked again: the default stands.
    assert loose.port == 80
    assert ConfigController("", {"PORT": "https"}).parse(Loose).port == 443
