"""The redis plugin's configuration: names, defaults, aliases, problems, masking."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pydantic import SecretStr
from tests.plugins.redis.servers import closed_port

from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import redis as redis_plugin
from lbtoolkit.plugins.redis._config import Address, Target, parse_addresses, resolve_target
from lbtoolkit.plugins.redis._plugin import _RedisPlugin
from lbtoolkit.testing import new_test_runtime, open_plugin

MULTI_ENV = {
    "MYSERVICE_SESSION_CACHE_DATABASE": "1",
    "MYSERVICE_SESSION_CACHE_PASSWORD": "hunter2-session",
    "MYSERVICE_DATA_CACHE_ENDPOINT": "127.0.0.1:6380",
    "MYSERVICE_DATA_CACHE_DATABASE": "2",
    "MYSERVICE_DATA_CACHE_POOL_SIZE": "3",
}


def build(plugin: redis_plugin.Plugin) -> _RedisPlugin:
    assert isinstance(plugin, _RedisPlugin)
    return plugin


def test_entry_point_names_this_module() -> None:
    (entry,) = entry_points(group="lbtoolkit.plugins", name="redis")
    assert entry.load() is redis_plugin


def test_public_api_is_sorted_and_reexported() -> None:
    assert redis_plugin.__all__ == sorted(redis_plugin.__all__)
    for name in redis_plugin.__all__:
        assert getattr(redis_plugin, name).__module__ == "lbtoolkit.plugins.redis"


def test_defaults_are_the_guides() -> None:
    config = redis_plugin.Config()
    assert config.addr == "127.0.0.1:6379"
    assert (config.username, config.password.get_secret_value()) == ("", "")
    assert config.database == 0
    assert (config.dial_timeout, config.read_timeout, config.write_timeout) == (5, 3, 3)
    assert config.pool_size == 10
    assert config.cluster_mode is False
    assert isinstance(config.password, SecretStr)


def test_each_instance_reads_its_own_prefix() -> None:
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE", environ=MULTI_ENV)
    session = build(redis_plugin.new_plugin(runtime, redis_plugin.Options("session_cache")))
    data = build(redis_plugin.new_plugin(runtime, redis_plugin.Options("data_cache")))
    runtime.config.raise_for_issues()
    assert session._config.database == 1
    assert session._config.password.get_secret_value() == "hunter2-session"
    assert session._config.addr == "127.0.0.1:6379"
    assert data._config.database == 2
    assert data._config.addr == "127.0.0.1:6380"  # read through the Go name ENDPOINT
    assert data._config.pool_size == 3
    assert data._config.password.get_secret_value() == ""


def test_go_toolkit_names_are_accepted() -> None:
    environ = {"REDIS_ENDPOINT": "10.0.0.1:7000,10.0.0.2:7000", "REDIS_CLUSTER": "true"}
    plugin = build(redis_plugin.new_test_plugin(environ=environ))
    assert plugin._config.addr == "10.0.0.1:7000,10.0.0.2:7000"
    assert plugin._config.cluster_mode is True


def test_help_lists_the_guides_names_only() -> None:
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE")
    redis_plugin.new_plugin(runtime, redis_plugin.Options("session_cache"))
    names = [v.name for v in runtime.config.variables()]
    expected = [
        f"MYSERVICE_SESSION_CACHE_{n}"
        for n in (
            "ADDR",
            "HOST",
            "PORT",
            "USERNAME",
            "PASSWORD",
            "DATABASE",
            "DIAL_TIMEOUT",
            "READ_TIMEOUT",
            "WRITE_TIMEOUT",
            "POOL_SIZE",
            "CLUSTER_MODE",
            "REQUIRED",
        )
    ]
    assert [n for n in names if n.startswith("MYSERVICE_SESSION_CACHE_")] == expected
    table = runtime.config.print_table(all=True)
    assert "MYSERVICE_SESSION_CACHE_ADDR" in table
    assert "MYSERVICE_SESSION_CACHE_ENDPOINT" not in table
    assert "MYSERVICE_SESSION_CACHE_CLUSTER " not in table


def test_info_prints_values_with_the_password_masked(capsys: pytest.CaptureFixture[str]) -> None:
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE", environ=MULTI_ENV)
    plugin = redis_plugin.new_plugin(runtime, redis_plugin.Options("session_cache"))
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert "hunter2-session" not in text
    assert text == (
        'plugin "session_cache" (redis)\n'
        "  MYSERVICE_SESSION_CACHE_ADDR          = 127.0.0.1:6379\n"
        "  MYSERVICE_SESSION_CACHE_HOST          =\n"
        "  MYSERVICE_SESSION_CACHE_PORT          =\n"
        "  MYSERVICE_SESSION_CACHE_USERNAME      =\n"
        "  MYSERVICE_SESSION_CACHE_PASSWORD      = ******\n"
        "  MYSERVICE_SESSION_CACHE_DATABASE      = 1\n"
        "  MYSERVICE_SESSION_CACHE_DIAL_TIMEOUT  = 5\n"
        "  MYSERVICE_SESSION_CACHE_READ_TIMEOUT  = 3\n"
        "  MYSERVICE_SESSION_CACHE_WRITE_TIMEOUT = 3\n"
        "  MYSERVICE_SESSION_CACHE_POOL_SIZE     = 10\n"
        "  MYSERVICE_SESSION_CACHE_CLUSTER_MODE  = false\n"
        "  MYSERVICE_SESSION_CACHE_REQUIRED      = true"
    )


def test_bad_values_are_reported_together_with_full_names() -> None:
    environ = {
        "MYSERVICE_CACHE_DATABASE": "abc",
        "MYSERVICE_CACHE_ADDR": "10.0.0.1:6379,10.0.0.2:6379",
        "MYSERVICE_CACHE_POOL_SIZE": "0",
        "MYSERVICE_CACHE_PASSWORD": "hunter2",
    }
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE", environ=environ)
    redis_plugin.new_plugin(runtime, redis_plugin.Options("cache"))
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    text = str(caught.value)
    assert "MYSERVICE_CACHE_DATABASE: 'abc' is not a valid integer" in text
    assert "MYSERVICE_CACHE_ADDR: lists 2 addresses but cluster mode is off" in text
    assert "MYSERVICE_CACHE_POOL_SIZE: 0 is out of range (at least 1)" in text
    assert (
        "Hint: give one address, or set MYSERVICE_CACHE_CLUSTER_MODE=true for a Redis Cluster"
        in text
    )
    assert "hunter2" not in text


def test_cluster_mode_needs_database_zero() -> None:
    environ = {"REDIS_CLUSTER_MODE": "true", "REDIS_DATABASE": "3"}
    with pytest.raises(ConfigError) as caught:
        redis_plugin.new_test_plugin(environ=environ)
    assert str(caught.value) == (
        "invalid configuration: 1 problem\n"
        "  REDIS_DATABASE: must be 0 in cluster mode (Redis Cluster has database 0 only)"
    )


async def test_pre_start_repeats_problems_the_service_did_not_raise() -> None:
    runtime = new_test_runtime(environ={"REDIS_ADDR": "localhost:notaport"})
    plugin = redis_plugin.new_plugin(runtime, redis_plugin.Options())
    with pytest.raises(ConfigError) as caught:
        await plugin.pre_start()
    assert "REDIS_ADDR: 'localhost:notaport' has no valid port (expected host:port)" in str(
        caught.value
    )


def test_client_before_start_says_when_it_can_be_used() -> None:
    plugin = redis_plugin.new_test_plugin(redis_plugin.Options("cache"))
    with pytest.raises(redis_plugin.RedisStateError) as caught:
        plugin.client()
    assert isinstance(caught.value, RuntimeError)
    assert str(caught.value) == (
        'plugin "cache" (redis): client() was called while the plugin is not started\n'
        "Hint: use the client in code that runs after the plugins' pre_start "
        "(constructors, handlers, start hooks) and before on_stop"
    )


def test_cluster_db_without_cluster_mode_names_the_variable() -> None:
    runtime = new_test_runtime(env_prefix="MYSERVICE")
    plugin = redis_plugin.new_plugin(runtime, redis_plugin.Options("cache"))
    with pytest.raises(redis_plugin.RedisStateError) as caught:
        plugin.cluster_db()
    assert str(caught.value) == (
        'plugin "cache" (redis): cluster_db() needs cluster mode, which is off\n'
        "Hint: set MYSERVICE_CACHE_CLUSTER_MODE=true for a Redis Cluster, or call client()"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:6379", [Address("127.0.0.1", 6379)]),
        ("redis.local", [Address("redis.local", 6379)]),
        (":6380", [Address("localhost", 6380)]),
        ("[::1]:7000", [Address("::1", 7000)]),
        ("a:1, b:2", [Address("a", 1), Address("b", 2)]),
    ],
)
def test_addresses_are_read_as_go_redis_reads_them(text: str, expected: list[Address]) -> None:
    assert parse_addresses(text) == expected


@pytest.mark.parametrize("text", ["", "host:0", "host:99999", "host:x"])
def test_bad_addresses_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="expected host:port"):
        parse_addresses(text)


def test_address_text_brackets_ipv6() -> None:
    assert str(Address("::1", 7000)) == "[::1]:7000"
    assert str(Address("127.0.0.1", 6379)) == "127.0.0.1:6379"


def target_of(environ: dict[str, str]) -> Target:
    plugin = build(redis_plugin.new_test_plugin(redis_plugin.Options("cache"), environ=environ))
    return resolve_target(plugin._config)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, Target((Address("127.0.0.1", 6379),), ("ADDR",))),
        ({"CACHE_ADDR": "redis-a:6380"}, Target((Address("redis-a", 6380),), ("ADDR",))),
        ({"CACHE_ENDPOINT": "redis-a:6380"}, Target((Address("redis-a", 6380),), ("ADDR",))),
        (
            {"CACHE_HOST": "redis-b", "CACHE_PORT": "6381"},
            Target((Address("redis-b", 6381),), ("HOST", "PORT")),
        ),
        ({"CACHE_HOST": "redis-b"}, Target((Address("redis-b", 6379),), ("HOST", "PORT"))),
        ({"CACHE_PORT": "6381"}, Target((Address("127.0.0.1", 6381),), ("HOST", "PORT"))),
        ({"CACHE_HOST": "[::1]"}, Target((Address("::1", 6379),), ("HOST", "PORT"))),
        # Both spellings naming the same server are no conflict: ADDR is used.
        (
            {"CACHE_ADDR": "Redis-A:6380", "CACHE_HOST": "redis-a", "CACHE_PORT": "6380"},
            Target((Address("Redis-A", 6380),), ("ADDR",)),
        ),
        (
            {"CACHE_ADDR": "redis-a:6380", "CACHE_PORT": "6380"},
            Target((Address("redis-a", 6380),), ("ADDR",)),
        ),
    ],
)
def test_the_address_comes_from_addr_or_from_host_and_port(
    environ: dict[str, str], expected: Target
) -> None:
    assert target_of(environ) == expected


@pytest.mark.parametrize(
    ("environ", "conflicting"),
    [
        ({"CACHE_ADDR": "redis-a:6379", "CACHE_HOST": "redis-b"}, "MYSERVICE_CACHE_HOST"),
        ({"CACHE_ADDR": "redis-a:6379", "CACHE_PORT": "6380"}, "MYSERVICE_CACHE_PORT"),
        (
            {"CACHE_ENDPOINT": "redis-a:6379", "CACHE_HOST": "redis-b", "CACHE_PORT": "6380"},
            "MYSERVICE_CACHE_HOST and MYSERVICE_CACHE_PORT",
        ),
        # The default address set explicitly still counts as set.
        ({"CACHE_ADDR": "127.0.0.1:6379", "CACHE_HOST": "redis-b"}, "MYSERVICE_CACHE_HOST"),
        # HOST and PORT name one server; several seed nodes cannot be it.
        (
            {
                "CACHE_ADDR": "redis-a:6379,redis-b:6379",
                "CACHE_CLUSTER_MODE": "true",
                "CACHE_HOST": "redis-a",
            },
            "MYSERVICE_CACHE_HOST",
        ),
    ],
)
def test_addr_and_host_port_naming_different_servers_is_a_config_error(
    environ: dict[str, str], conflicting: str
) -> None:
    prefixed = {f"MYSERVICE_{name}": value for name, value in environ.items()}
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE", environ=prefixed)
    redis_plugin.new_plugin(runtime, redis_plugin.Options("cache"))
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    # Named as set: under its alias ENDPOINT when that is the name used.
    addr = "MYSERVICE_CACHE_ENDPOINT" if "CACHE_ENDPOINT" in environ else "MYSERVICE_CACHE_ADDR"
    assert str(caught.value) == (
        "invalid configuration: 1 problem\n"
        f"  {addr}: names another server than {conflicting}\n"
        f"Hint: set either {addr} or MYSERVICE_CACHE_HOST and MYSERVICE_CACHE_PORT, not both"
    )


def test_bad_host_and_port_are_reported_by_name() -> None:
    environ = {"REDIS_HOST": "redis-b:6380", "REDIS_PORT": "70000"}
    with pytest.raises(ConfigError) as caught:
        redis_plugin.new_test_plugin(environ=environ)
    assert str(caught.value) == (
        "invalid configuration: 2 problems\n"
        "  REDIS_PORT: 70000 is not a valid port (1-65535)\n"
        "  REDIS_HOST: 'redis-b:6380' is not a host name or IP address\n"
        "Hint: put the port in REDIS_PORT, or the whole address in REDIS_ADDR"
    )


async def test_host_and_port_connect_to_the_real_server() -> None:
    plugin = redis_plugin.new_test_plugin(
        redis_plugin.Options("cache"), environ={"CACHE_HOST": "127.0.0.1", "CACHE_PORT": "6379"}
    )
    async with open_plugin(plugin):
        assert await plugin.client().ping() is True


async def test_a_refused_host_and_port_are_named_in_the_connect_error() -> None:
    port = closed_port()
    plugin = redis_plugin.new_test_plugin(
        redis_plugin.Options("cache"), environ={"CACHE_HOST": "127.0.0.1", "CACHE_PORT": str(port)}
    )
    with pytest.raises(redis_plugin.RedisConnectError) as caught:
        await plugin.pre_start()
    assert caught.value.address == f"127.0.0.1:{port}"
    assert str(caught.value).splitlines()[-1] == (
        "Hint: check that Redis is running there, or point CACHE_HOST and CACHE_PORT at it"
    )


async def test_a_refused_login_names_the_username_and_password_variables() -> None:
    plugin = redis_plugin.new_test_plugin(
        redis_plugin.Options("cache"),
        environ={"CACHE_USERNAME": "nobody-here", "CACHE_PASSWORD": "hunter2"},
    )
    with pytest.raises(redis_plugin.RedisConnectError) as caught:
        await plugin.pre_start()
    assert str(caught.value) == (
        'plugin "cache" (redis): cannot connect to 127.0.0.1:6379: '
        "invalid username-password pair or user is disabled.\n"
        "Hint: check CACHE_USERNAME and CACHE_PASSWORD against the server's users (ACL LIST)"
    )
    assert "hunter2" not in str(caught.value)


def test_timeouts_past_a_day_are_refused_before_a_socket_overflows() -> None:
    environ = {"REDIS_DIAL_TIMEOUT": "9" * 26, "REDIS_DATABASE": "-1", "REDIS_POOL_SIZE": "0"}
    with pytest.raises(ConfigError) as caught:
        redis_plugin.new_test_plugin(environ=environ)
    assert str(caught.value) == (
        "invalid configuration: 3 problems\n"
        "  REDIS_DATABASE: -1 is out of range (at least 0)\n"
        f"  REDIS_DIAL_TIMEOUT: {'9' * 26} is out of range (at most 86400)\n"
        "  REDIS_POOL_SIZE: 0 is out of range (at least 1)"
    )
