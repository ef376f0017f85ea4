"""The table and YAML views that ``--help`` prints."""

from __future__ import annotations

import datetime as dt

import yaml
from pydantic import BaseModel, SecretStr

from lbtoolkit.config import ConfigController, Variable, env

SENSITIVE = "hunter2-very-sensitive"


class PgOptions(BaseModel):
    host: str = env("HOST", default="localhost", comment="Database host")
    port: int = env("PORT", default=5432, comment="Database port")
    username: str = env("USERNAME", comment="Database username")
    password: SecretStr = env("PASSWORD", default=SENSITIVE, comment="Database password")
    timeout: dt.timedelta = env("TIMEOUT", default=dt.timedelta(hours=1, minutes=30))


class CacheOptions(BaseModel):
    url: str = env("URL", comment="Redis URL\nwith credentials: [redis://...]")
    hosts: list[str] = env("HOSTS", default=["a", "b"], comment="Hosts")


def controller() -> ConfigController:
    config = ConfigController("MYSERVICE")
    config.parse(PgOptions, "pgsql", owner='plugin "pgsql" (postgres_gorm)')
    config.parse(CacheOptions, "redis", owner='plugin "redis" (redis)')
    return config


def test_table_shows_required_variables_only_by_default() -> None:
    rule = "+{}+{}+{}+{}+".format("-" * 26, "-" * 15, "-" * 10, "-" * 43)
    assert controller().print_table().splitlines() == [
        rule,
        (
            "| ENVIRONMENT              | DEFAULT VALUE | REQUIRED |"
            " DESCRIPTION                               |"
        ),
        rule,
        (
            "| MYSERVICE_PGSQL_USERNAME |               | yes      |"
            " Database username                         |"
        ),
        (
            "| MYSERVICE_REDIS_URL      |               | yes      |"
            " Redis URL with credentials: [redis://...] |"
        ),
        rule,
    ]


def test_table_with_all_and_no_comments() -> None:
    assert controller().print_table(all=True, no_comments=True).splitlines() == [
        "+--------------------------+---------------+----------+",
        "| ENVIRONMENT              | DEFAULT VALUE | REQUIRED |",
        "+--------------------------+---------------+----------+",
        "| MYSERVICE_PGSQL_HOST     | localhost     | no       |",
        "| MYSERVICE_PGSQL_PORT     | 5432          | no       |",
        "| MYSERVICE_PGSQL_USERNAME |               | yes      |",
        "| MYSERVICE_PGSQL_PASSWORD | ******        | no       |",
        "| MYSERVICE_PGSQL_TIMEOUT  | 1h30m         | no       |",
        "| MYSERVICE_REDIS_URL      |               | yes      |",
        "| MYSERVICE_REDIS_HOSTS    | a,b           | no       |",
        "+--------------------------+---------------+----------+",
    ]
    assert not controller().print_table().endswith("\n")


def test_table_never_shows_a_secret() -> None:
    table = controller().print_table(all=True)
    assert SENSITIVE not in table
    assert "| MYSERVICE_PGSQL_PASSWORD | ******        | no       | Database password" in table


def test_yaml_of_required_variables() -> None:
    assert controller().print_yaml() == (
        "---\n"
        "# (required) Database username\n"
        'MYSERVICE_PGSQL_USERNAME: ""\n'
        "# (required) Redis URL\n"
        "# with credentials: [redis://...]\n"
        'MYSERVICE_REDIS_URL: ""\n'
    )


def test_yaml_of_all_variables() -> None:
    text = controller().print_yaml(all=True)
    assert text == (
        "---\n"
        "# Database host\n"
        'MYSERVICE_PGSQL_HOST: "localhost"\n'
        "# Database port\n"
        'MYSERVICE_PGSQL_PORT: "5432"\n'
        "# (required) Database username\n"
        'MYSERVICE_PGSQL_USERNAME: ""\n'
        "# Database password\n"
        'MYSERVICE_PGSQL_PASSWORD: "******"\n'
        'MYSERVICE_PGSQL_TIMEOUT: "1h30m"\n'
        "# (required) Redis URL\n"
        "# with credentials: [redis://...]\n"
        'MYSERVICE_REDIS_URL: ""\n'
        "# Hosts\n"
        'MYSERVICE_REDIS_HOSTS: "a,b"\n'
    )
    assert SENSITIVE not in text
    assert yaml.safe_load(text) == {
        "MYSERVICE_PGSQL_HOST": "localhost",
        "MYSERVICE_PGSQL_PORT": "5432",
        "MYSERVICE_PGSQL_USERNAME": "",
        "MYSERVICE_PGSQL_PASSWORD": "******",
        "MYSERVICE_PGSQL_TIMEOUT": "1h30m",
        "MYSERVICE_REDIS_URL": "",
        "MYSERVICE_REDIS_HOSTS": "a,b",
    }


def test_yaml_without_comments() -> None:
    assert controller().print_yaml(no_comments=True) == (
        '---\nMYSERVICE_PGSQL_USERNAME: ""\nMYSERVICE_REDIS_URL: ""\n'
    )


def test_yaml_quotes_what_yaml_would_misread() -> None:
    class Tricky(BaseModel):
        null: str = env("NULL", default="yes")
        text: str = env("TEXT", default='a: "b" # c\n\\d', comment="Tricky")
        unicode: str = env("UNICODE", default="\u00e9t\u00e9")
        empty: str = env("EMPTY", default="")

    config = ConfigController()
    config.parse(Tricky)
    text = config.print_yaml(all=True)
    assert text.splitlines()[1] == '"NULL": "yes"'
    assert yaml.safe_load(text) == {
        "NULL": "yes",
        "TEXT": 'a: "b" # c\n\\d',
        "UNICODE": "\u00e9t\u00e9",
        "EMPTY": "",
    }


def test_yaml_with_nothing_to_show_is_an_empty_mapping() -> None:
    config = ConfigController()
    assert config.print_yaml() == "--- {}\n"
    assert yaml.safe_load(config.print_yaml()) == {}


def test_yaml_shows_a_duplicated_name_once() -> None:
    config = ConfigController()
    config.parse(CacheOptions, owner="one")
    config.parse(CacheOptions, owner="two")
    text = config.print_yaml(all=True)
    assert text.count("URL:") == 1
    assert yaml.safe_load(text) == {"URL": "", "HOSTS": "a,b"}
    assert config.print_table(all=True).count("| URL ") == 2


def test_empty_table_has_the_header() -> None:
    assert ConfigController().print_table().splitlines() == [
        "+-------------+---------------+----------+-------------+",
        "| ENVIRONMENT | DEFAULT VALUE | REQUIRED | DESCRIPTION |",
        "+-------------+---------------+----------+-------------+",
        "+-------------+---------------+----------+-------------+",
    ]


def test_variables_describe_each_field() -> None:
    assert controller().variables()[3:5] == [
        Variable(
            name="MYSERVICE_PGSQL_PASSWORD",
            default="******",
            required=False,
            description="Database password",
            secret=True,
            owner='plugin "pgsql" (postgres_gorm)',
            type_name="SecretStr",
        ),
        Variable(
            name="MYSERVICE_PGSQL_TIMEOUT",
            default="1h30m",
            required=False,
            description="",
            secret=False,
            owner='plugin "pgsql" (postgres_gorm)',
            type_name="duration",
        ),
    ]


def test_an_empty_secret_default_shows_empty() -> None:
    class Optional(BaseModel):
        token: SecretStr = env("TOKEN", default=SecretStr(""))

    config = ConfigController()
    config.parse(Optional)
    assert config.variables()[0].default == ""
