"""``ConfigController.describe``: a parsed model's variables with their values."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, Field, SecretStr

from lbtoolkit.config import ConfigController, env, env_prefix

OWNER = 'plugin "cache" (redis)'


class Flat(BaseModel):
    addr: str = env("ADDR", default="127.0.0.1:6379", comment="Address")
    password: SecretStr = env("PASSWORD", default=SecretStr(""), comment="Password")
    token: SecretStr = env("TOKEN", default=SecretStr(""), comment="Token")
    timeout: dt.timedelta = env("DIAL_TIMEOUT", default="5s", comment="Dial timeout")
    cluster: bool = env("CLUSTER_MODE", default=False, comment="Cluster mode")
    hosts: list[str] = env("HOSTS", default=["a", "b"], comment="Hosts")
    note: str | None = env("NOTE", default=None, comment="Free text")


class Credentials(BaseModel):
    username: str = env("USERNAME", default="app")
    password: SecretStr = env("PASSWORD", default=SecretStr(""))


class Server(BaseModel):
    host: str = env("HOST", default="localhost")
    port: int = env("PORT", default=5432)
    login: Credentials = env_prefix("")


class Nested(BaseModel):
    name: str = env("NAME", default="svc")
    primary: Server = env_prefix("DB_")
    replica: Server
    debug: bool = env("DEBUG", default=True)


def test_a_flat_model_lists_every_variable_with_values_as_help_writes_them() -> None:
    environ = {"SVC_CACHE_PASSWORD": "hunter2", "SVC_CACHE_DIAL_TIMEOUT": "1m30s"}
    controller = ConfigController("svc", environ)
    config = controller.parse(Flat, "cache", owner=OWNER)
    text = controller.describe(OWNER, config)
    assert "hunter2" not in text
    assert text == (
        'plugin "cache" (redis)\n'
        "  SVC_CACHE_ADDR         = 127.0.0.1:6379\n"
        "  SVC_CACHE_PASSWORD     = ******\n"
        "  SVC_CACHE_TOKEN        =\n"
        "  SVC_CACHE_DIAL_TIMEOUT = 1m30s\n"
        "  SVC_CACHE_CLUSTER_MODE = false\n"
        "  SVC_CACHE_HOSTS        = a,b\n"
        "  SVC_CACHE_NOTE         ="
    )


def test_nested_models_are_described_in_place_with_their_own_values() -> None:
    environ = {
        "SVC_DB_HOST": "db.internal",
        "SVC_DB_PASSWORD": "pw-primary",
        "SVC_REPLICA_HOST": "ro.internal",
        "SVC_REPLICA_USERNAME": "reader",
        "SVC_DEBUG": "false",
    }
    controller = ConfigController("svc", environ)
    config = controller.parse(Nested, owner="service")
    text = controller.describe("service", config)
    assert "pw-primary" not in text
    assert text == (
        "service\n"
        "  SVC_NAME             = svc\n"
        "  SVC_DB_HOST          = db.internal\n"
        "  SVC_DB_PORT          = 5432\n"
        "  SVC_DB_USERNAME      = app\n"
        "  SVC_DB_PASSWORD      = ******\n"
        "  SVC_REPLICA_HOST     = ro.internal\n"
        "  SVC_REPLICA_PORT     = 5432\n"
        "  SVC_REPLICA_USERNAME = reader\n"
        "  SVC_REPLICA_PASSWORD =\n"
        "  SVC_DEBUG            = false"
    )


def test_show_replaces_the_text_of_the_fields_it_answers_for() -> None:
    environ = {"SVC_DB_PASSWORD": "pw-primary", "SVC_REPLICA_PASSWORD": "pw-replica"}
    controller = ConfigController("svc", environ)
    config = controller.parse(Nested, owner="service")
    seen: list[tuple[str, object]] = []

    def show(field: str, value: object) -> str | None:
        seen.append((field, value))
        if field == "replica.login.password":
            return "(from the vault)"
        if field == "name":
            return ""
        return None

    text = controller.describe("service", config, show=show)
    assert text == (
        "service\n"
        "  SVC_NAME             =\n"
        "  SVC_DB_HOST          = localhost\n"
        "  SVC_DB_PORT          = 5432\n"
        "  SVC_DB_USERNAME      = app\n"
        "  SVC_DB_PASSWORD      = ******\n"
        "  SVC_REPLICA_HOST     = localhost\n"
        "  SVC_REPLICA_PORT     = 5432\n"
        "  SVC_REPLICA_USERNAME = app\n"
        "  SVC_REPLICA_PASSWORD = (from the vault)\n"
        "  SVC_DEBUG            = true"
    )
    assert [field for field, _ in seen] == [
        "name",
        "primary.host",
        "primary.port",
        "primary.login.username",
        "primary.login.password",
        "replica.host",
        "replica.port",
        "replica.login.username",
        "replica.login.password",
        "debug",
    ]
    assert seen[4] == ("primary.login.password", SecretStr("pw-primary"))


def test_fields_with_a_pydantic_alias_are_read_by_attribute_name() -> None:
    class Aliased(BaseModel):
        first: str = Field(default="one", alias="First")
        second: int = Field(default=2, alias="Second")

    controller = ConfigController("", {"SECOND": "3"})
    config = controller.parse(Aliased, owner="aliased")
    assert controller.describe("aliased", config) == "aliased\n  FIRST  = one\n  SECOND = 3"


def test_a_model_without_fields_gives_the_owner_alone() -> None:
    class Empty(BaseModel):
        pass

    controller = ConfigController("svc", {})
    config = controller.parse(Empty, "x", owner="empty")
    assert controller.describe("empty", config) == "empty"


def test_the_instance_picks_the_prefix_when_an_owner_parsed_a_model_twice() -> None:
    environ = {"SVC_A_ADDR": "a:1", "SVC_B_ADDR": "b:2"}
    controller = ConfigController("svc", environ)
    first = controller.parse(Flat, "a", owner=OWNER)
    second = controller.parse(Flat, "b", owner=OWNER)
    assert controller.describe(OWNER, first).splitlines()[1] == "  SVC_A_ADDR         = a:1"
    assert controller.describe(OWNER, second).splitlines()[1] == "  SVC_B_ADDR         = b:2"


def test_describing_a_model_the_owner_never_parsed_is_an_error() -> None:
    controller = ConfigController("svc", {})
    config = controller.parse(Flat, "cache", owner=OWNER)
    with pytest.raises(ValueError, match=r'plugin "other" \(redis\) did not parse a Flat'):
        controller.describe('plugin "other" (redis)', config)


def test_a_type_holding_secrets_is_masked_whole() -> None:
    class Keys(BaseModel):
        keys: list[SecretStr] = env("KEYS", default=[])

    controller = ConfigController("", {"KEYS": "k-1,k-2"})
    config = controller.parse(Keys, owner="keys")
    assert controller.describe("keys", config) == "keys\n  KEYS = ******"
