"""Variable names: prefixes, env() names, nesting and aliases."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, model_validator

from lbtoolkit.config import (
    ConfigController,
    ConfigError,
    ConfigIssue,
    ConfigModelError,
    env,
    env_prefix,
)


class Options(BaseModel):
    host: str = env("HOST", default="localhost", comment="Database host")
    ssl_mode: str = env(default="disable")
    port: int = 5432
    timezone: str = Field(default="UTC", description="Database timezone")


def names(controller: ConfigController) -> list[str]:
    return [var.name for var in controller.variables()]


@pytest.mark.parametrize(
    ("service", "plugin", "expected"),
    [
        ("MYSERVICE", "pgsql", "MYSERVICE_PGSQL_HOST"),
        ("myservice", "PGSQL", "MYSERVICE_PGSQL_HOST"),
        ("", "pgsql", "PGSQL_HOST"),
        ("myservice", "", "MYSERVICE_HOST"),
        ("", "", "HOST"),
        ("my-service", "pg-sql", "MY_SERVICE_PG_SQL_HOST"),
        ("MYSERVICE_", "pgsql_", "MYSERVICE_PGSQL_HOST"),
    ],
)
def test_full_name_joins_non_empty_prefixes(service: str, plugin: str, expected: str) -> None:
    controller = ConfigController(service, {expected: "db.internal"})
    options = controller.parse(Options, plugin)
    assert names(controller)[0] == expected
    assert options.host == "db.internal"
    assert controller.variable_name("HOST", plugin) == expected


def test_name_defaults_to_the_field_name_in_upper_case() -> None:
    controller = ConfigController("svc", {"SVC_PG_SSL_MODE": "require", "SVC_PG_PORT": "6432"})
    options = controller.parse(Options, "pg")
    assert names(controller) == ["SVC_PG_HOST", "SVC_PG_SSL_MODE", "SVC_PG_PORT", "SVC_PG_TIMEZONE"]
    assert (options.ssl_mode, options.port) == ("require", 6432)


def test_plain_field_description_is_the_comment() -> None:
    controller = ConfigController()
    controller.parse(Options)
    described = {var.name: var.description for var in controller.variables()}
    assert described == {
        "HOST": "Database host",
        "SSL_MODE": "",
        "PORT": "",
        "TIMEZONE": "Database timezone",
    }


class Credentials(BaseModel):
    user: str = env("USER", comment="User name")
    group: str = env("GROUP", default="staff")


class Server(BaseModel):
    database: Options = env_prefix("DATABASE_")
    replica: Options = env_prefix("ro")
    auth: Credentials
    flat: Credentials = env_prefix("")
    name: str = "api"


def test_nested_models_add_their_prefix() -> None:
    controller = ConfigController("svc")
    controller.parse(Server, "app")
    assert names(controller) == [
        "SVC_APP_DATABASE_HOST",
        "SVC_APP_DATABASE_SSL_MODE",
        "SVC_APP_DATABASE_PORT",
        "SVC_APP_DATABASE_TIMEZONE",
        "SVC_APP_RO_HOST",
        "SVC_APP_RO_SSL_MODE",
        "SVC_APP_RO_PORT",
        "SVC_APP_RO_TIMEZONE",
        "SVC_APP_AUTH_USER",
        "SVC_APP_AUTH_GROUP",
        "SVC_APP_USER",
        "SVC_APP_GROUP",
        "SVC_APP_NAME",
    ]


def test_nested_values_and_defaults() -> None:
    environ = {
        "DATABASE_HOST": "primary",
        "RO_PORT": "6543",
        "AUTH_USER": "alice",
        "USER": "bob",
    }
    controller = ConfigController("", environ)
    server = controller.parse(Server)
    assert controller.issues == []
    assert server.database == Options(host="primary")
    assert server.replica == Options(port=6543)
    assert server.auth == Credentials(user="alice", group="staff")
    assert server.flat == Credentials(user="bob", group="staff")


def test_nested_required_variable_is_reported_with_its_full_name() -> None:
    controller = ConfigController("svc", {"SVC_USER": "bob"})
    server = controller.parse(Server, owner="server")
    assert controller.issues == [
        ConfigIssue("SVC_AUTH_USER", "required environment variable not set", "server")
    ]
    assert server.auth == Credentials.model_construct(user="", group="staff")
    assert server.flat.user == "bob"


class WithDefaultInstance(BaseModel):
    cache: Options = Options(host="cache.local", port=6379)


def test_a_nested_default_instance_gives_the_defaults() -> None:
    controller = ConfigController("svc", {"SVC_CACHE_TIMEZONE": "CET"})
    parsed = controller.parse(WithDefaultInstance)
    assert parsed.cache == Options(host="cache.local", port=6379, timezone="CET")
    defaults = {var.name: var.default for var in controller.variables()}
    assert defaults["SVC_CACHE_HOST"] == "cache.local"
    assert defaults["SVC_CACHE_PORT"] == "6379"


class Deep(BaseModel):
    outer: WithDefaultInstance = WithDefaultInstance(cache=Options(host="deep"))


def test_a_default_instance_gives_defaults_to_models_nested_deeper() -> None:
    controller = ConfigController("", {"OUTER_CACHE_PORT": "1"})
    deep = controller.parse(Deep)
    assert deep.outer.cache == Options(host="deep", port=1)


def test_default_instance_values_survive_a_failing_model() -> None:
    controller = ConfigController("", {"CACHE_PORT": "x"})
    parsed = controller.parse(WithDefaultInstance)
    assert [str(issue) for issue in controller.issues] == ["CACHE_PORT: 'x' is not a valid integer"]
    assert parsed.cache == Options(host="cache.local", port=6379)


class Limits(BaseModel):
    port: int = Field(default=1, gt=0)
    host: str = "h"


class WithLimits(BaseModel):
    limits: Limits = Limits(port=5)
    level: int = Field(default=1, lt=10)


def test_default_instance_values_survive_a_failing_pydantic_check() -> None:
    controller = ConfigController("", {"LIMITS_PORT": "-1", "LEVEL": "20"})
    parsed = controller.parse(WithLimits)
    assert [str(issue) for issue in controller.issues] == [
        "LIMITS_PORT: -1 is out of range (over 0)",
        "LEVEL: 20 is out of range (under 10)",
    ]
    assert parsed.limits == Limits(port=5)
    assert parsed.level == 1


class Checked(BaseModel):
    host: str = ""
    dsn: str = ""

    @model_validator(mode="after")
    def need_one(self) -> Checked:
        if not (self.host or self.dsn):
            msg = "host or dsn is needed"
            raise ValueError(msg)
        return self


class Outer(BaseModel):
    db: Checked = env_prefix("DB_")
    level: int = 1


def test_model_level_errors_name_the_nested_prefix() -> None:
    controller = ConfigController("svc", {"SVC_PG_LEVEL": "3"})
    outer = controller.parse(Outer, "pg", owner="pg")
    assert controller.issues == [ConfigIssue("SVC_PG_DB_*", "host or dsn is needed", "pg")]
    assert outer.level == 3


def test_model_level_errors_at_the_root() -> None:
    controller = ConfigController("svc")
    controller.parse(Checked, "pg", owner="pg")
    controller.parse(Checked, owner="bare")
    assert [str(issue) for issue in controller.issues] == [
        "SVC_PG_*: host or dsn is needed",
        "SVC_*: host or dsn is needed",
    ]


def test_model_level_errors_without_any_prefix_name_the_model() -> None:
    controller = ConfigController()
    controller.parse(Checked, owner="bare")
    assert [str(issue) for issue in controller.issues] == ["Checked: host or dsn is needed"]


class Endpoint(BaseModel):
    addr: str = env("ADDR", default="localhost:80", aliases=("ENDPOINT", "URL"))
    name: str = env("NAME", default="x", aliases="TITLE")


def test_alias_alone_is_read() -> None:
    controller = ConfigController("svc", {"SVC_HTTP_ENDPOINT": "old:81", "SVC_HTTP_TITLE": "t"})
    endpoint = controller.parse(Endpoint, "http")
    assert (endpoint.addr, endpoint.name) == ("old:81", "t")
    assert controller.issues == []


def test_main_name_and_alias_with_the_same_value_agree() -> None:
    environ = {"SVC_HTTP_ADDR": "a:1", "SVC_HTTP_URL": "a:1"}
    controller = ConfigController("svc", environ)
    assert controller.parse(Endpoint, "http").addr == "a:1"
    assert controller.issues == []


def test_main_name_and_alias_with_different_values_is_an_issue() -> None:
    environ = {"SVC_HTTP_ADDR": "new:82", "SVC_HTTP_ENDPOINT": "old:81"}
    controller = ConfigController("svc", environ)
    endpoint = controller.parse(Endpoint, "http", owner="http")
    assert controller.issues == [
        ConfigIssue(
            "SVC_HTTP_ADDR",
            "SVC_HTTP_ADDR and SVC_HTTP_ENDPOINT are set to different values",
            "http",
            hint="set only SVC_HTTP_ADDR",
        )
    ]
    assert endpoint.addr == "localhost:80"


class Pool(BaseModel):
    size: Annotated[int, Field(ge=1, le=100)] = env(
        "MAX_CONNECTIONS", default=10, aliases="MAX_POOL_SIZE"
    )
    idle: int = env("MAX_IDLE", default=1, aliases="MIN_POOL_SIZE")


def test_a_bad_value_under_an_alias_is_reported_under_the_alias() -> None:
    # The user set the old name: the message must name it, not one never written.
    environ = {"SVC_DB_MAX_POOL_SIZE": "65535", "SVC_DB_MIN_POOL_SIZE": "many"}
    controller = ConfigController("svc", environ)
    controller.parse(Pool, "db", owner="db")
    assert [issue.variable for issue in controller.issues] == [
        "SVC_DB_MAX_POOL_SIZE",
        "SVC_DB_MIN_POOL_SIZE",
    ]
    assert "65535 is out of range" in controller.issues[0].message
    with pytest.raises(ConfigError) as raised:
        controller.raise_for_issues()
    assert "SVC_DB_MAX_CONNECTIONS" not in str(raised.value)


def test_a_bad_value_under_the_main_name_is_reported_under_it() -> None:
    controller = ConfigController("svc", {"SVC_DB_MAX_CONNECTIONS": "0"})
    controller.parse(Pool, "db", owner="db")
    assert [issue.variable for issue in controller.issues] == ["SVC_DB_MAX_CONNECTIONS"]


def test_help_shows_the_main_name_only() -> None:
    controller = ConfigController("svc")
    controller.parse(Endpoint, "http")
    assert names(controller) == ["SVC_HTTP_ADDR", "SVC_HTTP_NAME"]
    assert controller.variables()[0].aliases == ("SVC_HTTP_ENDPOINT", "SVC_HTTP_URL")
    assert "ENDPOINT" not in controller.print_table(all=True)
    assert "ENDPOINT" not in controller.print_yaml(all=True)


class BadPrefix(BaseModel):
    port: int = env_prefix("PORT_")


def test_env_prefix_on_a_plain_field_is_a_model_error() -> None:
    with pytest.raises(ConfigModelError) as caught:
        ConfigController().parse(BadPrefix)
    assert str(caught.value) == (
        "config model class BadPrefix: field 'port' uses env_prefix() "
        "but its type int is not a pydantic model"
    )


class Node(BaseModel):
    name: str = "n"
    child: Node


def test_a_model_nested_in_itself_is_a_model_error() -> None:
    with pytest.raises(ConfigModelError) as caught:
        ConfigController().parse(Node)
    assert str(caught.value) == "config model class Node: field 'child' nests Node inside itself"


class Aliased(BaseModel):
    host_name: str = Field(default="h", alias="hostName")


def test_pydantic_aliases_do_not_change_the_variable_name() -> None:
    controller = ConfigController("", {"HOST_NAME": "db"})
    assert controller.parse(Aliased).host_name == "db"
