"""The centrifuge plugin's configuration, errors and publication checks (no network)."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import entry_points

import pytest

from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import centrifuge
from lbtoolkit.plugins.centrifuge._plugin import _CentrifugePlugin
from lbtoolkit.testing import new_test_runtime

SECRET = "hunter2-chat"  # noqa: S105 - a test value
MULTI_ENV = {
    "MYSERVICE_CHAT_REDIS_ADDR": "127.0.0.1:6379",
    "MYSERVICE_CHAT_REDIS_PASSWORD": SECRET,
    "MYSERVICE_CHAT_CLIENT_QUEUE_MAX_SIZE": "65536",
    "MYSERVICE_NOTIFICATIONS_CONNECT_TIMEOUT": "1500ms",
}


def impl(plugin: centrifuge.Plugin) -> _CentrifugePlugin:
    assert isinstance(plugin, _CentrifugePlugin)
    return plugin


def test_entry_point_names_this_module() -> None:
    (entry,) = entry_points(group="lbtoolkit.plugins", name="centrifuge")
    assert entry.load() is centrifuge


def test_public_api_is_sorted_and_reexported() -> None:
    assert centrifuge.__all__ == sorted(centrifuge.__all__)
    for name in centrifuge.__all__:
        value = getattr(centrifuge, name)
        if isinstance(value, type) or (callable(value) and hasattr(value, "__code__")):
            assert value.__module__ == "lbtoolkit.plugins.centrifuge", name


def test_defaults() -> None:
    config = centrifuge.Config()
    assert config.redis_addr == ""
    assert config.redis_password.get_secret_value() == ""
    assert config.client_queue_max_size == 1_048_576
    assert config.client_channel_limit == 128
    assert config.connect_timeout == dt.timedelta(seconds=10)


def test_each_instance_reads_its_own_prefix() -> None:
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE", environ=MULTI_ENV)
    chat = impl(centrifuge.new_plugin(runtime, centrifuge.Options("chat")))
    notifications = impl(centrifuge.new_plugin(runtime, centrifuge.Options("notifications")))
    runtime.config.raise_for_issues()
    assert chat._config.client_queue_max_size == 65536
    assert chat._redis is not None
    assert (chat._redis.host, chat._redis.port) == ("127.0.0.1", 6379)
    assert chat._redis.password == SECRET
    assert SECRET not in repr(chat._redis)
    assert chat._redis.channel_prefix == "svc.chat"
    assert notifications._redis is None
    assert notifications._config.connect_timeout == dt.timedelta(milliseconds=1500)


def test_a_path_variable_is_reported_as_read_by_nothing() -> None:
    # No variable sets the path (the service mounts node.serve where it likes):
    # a PATH left over from older settings must not pass silently.
    environ = {
        "MYSERVICE_CENTRIFUGE_PATH": "/connection/websocket",
        "MYSERVICE_CENTRIFUGE_CONNECT_TIMEOUT": "2s",
    }
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE", environ=environ)
    centrifuge.new_plugin(runtime, centrifuge.Options())
    runtime.config.raise_for_issues()
    unread = runtime.config.unread_variables()
    assert [variable.name for variable in unread] == ["MYSERVICE_CENTRIFUGE_PATH"]
    assert str(unread[0]).startswith("MYSERVICE_CENTRIFUGE_PATH is not read by anything")


def test_info_masks_the_redis_password(capsys: pytest.CaptureFixture[str]) -> None:
    runtime = new_test_runtime("svc", env_prefix="MYSERVICE", environ=MULTI_ENV)
    plugin = centrifuge.new_plugin(runtime, centrifuge.Options("chat"))
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert SECRET not in text
    assert text == (
        'plugin "chat" (centrifuge)\n'
        "  MYSERVICE_CHAT_REDIS_ADDR            = 127.0.0.1:6379\n"
        "  MYSERVICE_CHAT_REDIS_USERNAME        =\n"
        "  MYSERVICE_CHAT_REDIS_PASSWORD        = ******\n"
        "  MYSERVICE_CHAT_REDIS_CHANNEL_PREFIX  =\n"
        "  MYSERVICE_CHAT_CLIENT_QUEUE_MAX_SIZE = 65536\n"
        "  MYSERVICE_CHAT_CLIENT_CHANNEL_LIMIT  = 128\n"
        "  MYSERVICE_CHAT_CONNECT_TIMEOUT       = 10s"
    )


def test_bad_values_are_reported_together() -> None:
    environ = {
        "CHAT_REDIS_ADDR": "10.0.0.1:6379,10.0.0.2:6379",
        "CHAT_CLIENT_QUEUE_MAX_SIZE": "0",
        "CHAT_CLIENT_CHANNEL_LIMIT": "many",
    }
    with pytest.raises(ConfigError) as caught:
        centrifuge.new_test_plugin(centrifuge.Options("chat"), environ=environ)
    assert str(caught.value) == (
        "invalid configuration: 3 problems\n"
        "  CHAT_CLIENT_QUEUE_MAX_SIZE: 0 is out of range (at least 1)\n"
        "  CHAT_CLIENT_CHANNEL_LIMIT: 'many' is not a valid integer\n"
        "  CHAT_REDIS_ADDR: takes one address (Redis Cluster is not supported)"
    )


async def test_pre_start_refuses_a_config_the_service_would_refuse() -> None:
    runtime = new_test_runtime(environ={"CENTRIFUGE_REDIS_ADDR": "redis:port"})
    plugin = centrifuge.new_plugin(runtime, centrifuge.Options())
    with pytest.raises(ConfigError, match="CENTRIFUGE_REDIS_ADDR: 'redis:port' has no valid port"):
        await plugin.pre_start()


async def test_publish_before_start_says_so() -> None:
    plugin = centrifuge.new_test_plugin(centrifuge.Options("chat"))
    with pytest.raises(centrifuge.CentrifugeStateError) as caught:
        await plugin.publish("news", {"a": 1})
    assert isinstance(caught.value, RuntimeError)
    assert str(caught.value) == (
        "plugin \"chat\" (centrifuge): cannot publish to 'news': the plugin is not started\n"
        "Hint: publish from code that runs after the plugins' pre_start and before on_stop"
    )


@pytest.mark.parametrize(
    ("channel", "data", "problem"),
    [
        ("", {}, "channel must be a non-empty string"),
        ("x" * 256, {}, "channel is longer than 255 characters"),
        ("a\nb", {}, "channel contains control characters"),
        ("news", b"{not json", "data is not JSON text: Expecting property name"),
        ("news", {1, 2}, "data is not JSON-serializable: Object of type set"),
        ("news", float("nan"), "data is not JSON-serializable: Out of range float values"),
    ],
)
async def test_bad_publications_are_refused_before_anything_is_sent(
    channel: str, data: object, problem: str
) -> None:
    plugin = centrifuge.new_test_plugin(centrifuge.Options("chat"))
    with pytest.raises(centrifuge.CentrifugeValueError) as caught:
        await plugin.publish(channel, data)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert caught.value.problem.startswith(problem)
    assert str(caught.value).startswith('plugin "chat" (centrifuge): cannot publish to ')
