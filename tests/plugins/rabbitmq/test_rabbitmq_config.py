"""Configuration, ``info()`` and the public face of the RabbitMQ plugin (no broker needed)."""

from __future__ import annotations

import importlib.metadata
import uuid
from datetime import timedelta
from typing import cast

import pytest

from lbtoolkit import LbToolkitError
from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import nats, rabbitmq
from lbtoolkit.plugins.rabbitmq import Options, RabbitMQPlugin, new_plugin, new_test_plugin
from lbtoolkit.testing import new_test_runtime


def build(prefix: str, environ: dict[str, str], env_prefix: str = "MYSERVICE") -> RabbitMQPlugin:
    runtime = new_test_runtime("orders", env_prefix=env_prefix, environ=environ)
    return cast("RabbitMQPlugin", new_plugin(runtime, Options(prefix)))


def test_defaults_are_the_guides() -> None:
    plugin = cast("RabbitMQPlugin", new_test_plugin())
    config = plugin.config
    assert (config.host, config.port, config.vhost, config.prefetch) == ("localhost", 5672, "/", 1)
    assert config.username == "guest"
    assert config.password.get_secret_value() == "guest"
    assert config.dsn.get_secret_value() == ""
    assert config.retry_limit == 3
    assert config.publish_timeout == timedelta(seconds=30)


def test_two_instances_read_their_own_prefixed_variables() -> None:
    runtime = new_test_runtime(
        "orders",
        env_prefix="MYSERVICE",
        environ={
            "MYSERVICE_EVENTS_HOST": "events.example",
            "MYSERVICE_EVENTS_PORT": "5673",
            "MYSERVICE_EVENTS_PREFETCH": "20",
            "MYSERVICE_AUDIT_DSN": "amqp://audit:pw@audit.example:5999/audit",
            "MYSERVICE_AUDIT_RETRY_LIMIT": "0",
            "MYSERVICE_AUDIT_RECONNECT_INTERVAL": "250ms",
        },
    )
    events = cast("RabbitMQPlugin", new_plugin(runtime, Options("events")))
    audit = cast("RabbitMQPlugin", new_plugin(runtime, Options("audit")))
    runtime.config.raise_for_issues()

    assert (events.config.host, events.config.port, events.config.prefetch) == (
        "events.example",
        5673,
        20,
    )
    assert events.config.retry_limit == 3
    assert (audit._target.host, audit._target.port, audit._target.vhost) == (
        "audit.example",
        5999,
        "audit",
    )
    assert audit.config.retry_limit == 0
    assert audit.config.reconnect_interval == timedelta(milliseconds=250)
    assert audit.connection_name == "orders:audit"


def test_dsn_overrides_the_connection_fields() -> None:
    plugin = build(
        "queue",
        {"MYSERVICE_QUEUE_DSN": "amqps://u:p@broker.example/", "MYSERVICE_QUEUE_HOST": "ignored"},
    )
    assert (plugin._target.host, plugin._target.port, plugin._target.vhost) == (
        "broker.example",
        5671,
        "/",
    )


def test_go_deployments_prefetch_count_is_read_too() -> None:
    plugin = build("queue", {"MYSERVICE_QUEUE_PREFETCH_COUNT": "7"})
    assert plugin.config.prefetch == 7


def test_bad_variables_are_reported_together_without_secret_values() -> None:
    bad_dsn = "rabbit://user:s3cr3t-value@"
    runtime = new_test_runtime(
        "orders",
        env_prefix="MYSERVICE",
        environ={
            "MYSERVICE_QUEUE_PORT": "abc",
            "MYSERVICE_QUEUE_PREFETCH": "-1",
            "MYSERVICE_QUEUE_DSN": bad_dsn,
        },
    )
    new_plugin(runtime, Options("queue"))
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    text = str(caught.value)
    assert "MYSERVICE_QUEUE_PORT: 'abc' is not a valid integer" in text
    assert "MYSERVICE_QUEUE_PREFETCH:" in text
    assert "MYSERVICE_QUEUE_DSN: not an amqp:// or amqps:// URL with a host (value hidden)" in text
    assert "s3cr3t-value" not in text


def test_new_test_plugin_raises_config_errors_at_once() -> None:
    with pytest.raises(ConfigError, match="RABBITMQ_PORT"):
        new_test_plugin(environ={"RABBITMQ_PORT": "0"})


def test_info_prints_every_variable_with_secrets_masked(capsys: pytest.CaptureFixture[str]) -> None:
    plugin = build(
        "queue",
        {
            "MYSERVICE_QUEUE_PASSWORD": "sup3rsecret",
            "MYSERVICE_QUEUE_DSN": "amqp://u:dsnsecret@h:5672/v",
        },
    )
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert text == (
        'plugin "queue" (rabbitmq)\n'
        "  MYSERVICE_QUEUE_DSN                = ******\n"
        "  MYSERVICE_QUEUE_HOST               = localhost\n"
        "  MYSERVICE_QUEUE_PORT               = 5672\n"
        "  MYSERVICE_QUEUE_USERNAME           = guest\n"
        "  MYSERVICE_QUEUE_PASSWORD           = ******\n"
        "  MYSERVICE_QUEUE_VHOST              = /\n"
        "  MYSERVICE_QUEUE_PREFETCH           = 1\n"
        "  MYSERVICE_QUEUE_RETRY_LIMIT        = 3\n"
        "  MYSERVICE_QUEUE_RETRY_DELAY        = 1s\n"
        "  MYSERVICE_QUEUE_RETRY_MAX_DELAY    = 1m\n"
        "  MYSERVICE_QUEUE_BACKOFF            = 2.0\n"
        "  MYSERVICE_QUEUE_RETRY_JITTER       = 0.1\n"
        "  MYSERVICE_QUEUE_WIRE_FORMAT        = native\n"
        "  MYSERVICE_QUEUE_CONNECT_TIMEOUT    = 5s\n"
        "  MYSERVICE_QUEUE_RECONNECT_INTERVAL = 1s\n"
        "  MYSERVICE_QUEUE_PUBLISH_TIMEOUT    = 30s\n"
        "  MYSERVICE_QUEUE_DRAIN_TIMEOUT      = 10s"
    )
    assert "sup3rsecret" not in text
    assert "dsnsecret" not in text


def test_public_api_is_sorted_and_lives_in_the_package() -> None:
    exported = list(rabbitmq.__all__)
    assert exported == sorted(exported)
    for name in exported:
        value = getattr(rabbitmq, name)
        if isinstance(value, type):
            # What both broker plugins export shows whichever of the two was imported first.
            homes = {"lbtoolkit.plugins.rabbitmq"}
            if getattr(nats, name, None) is value:
                homes.add("lbtoolkit.plugins.nats")
            assert value.__module__ in homes, name
    assert issubclass(rabbitmq.RabbitMQConnectionError, LbToolkitError)
    assert issubclass(rabbitmq.RabbitMQConnectionError, ConnectionError)
    assert issubclass(rabbitmq.RabbitMQPublishError, RuntimeError)


def test_entry_point_finds_the_plugin_by_name() -> None:
    (entry,) = importlib.metadata.entry_points(group="lbtoolkit.plugins", name="rabbitmq")
    assert entry.load() is rabbitmq


def test_negative_timeouts_are_refused_with_their_rule() -> None:
    environ = {
        "MYSERVICE_MQ_CONNECT_TIMEOUT": "-1s",
        "MYSERVICE_MQ_RECONNECT_INTERVAL": "0s",
        "MYSERVICE_MQ_PUBLISH_TIMEOUT": "-5s",
        "MYSERVICE_MQ_DRAIN_TIMEOUT": "-1ms",
        "MYSERVICE_MQ_PORT": "0",
    }
    runtime = new_test_runtime("orders", env_prefix="MYSERVICE", environ=environ)
    new_plugin(runtime, Options("mq"))
    positive = "is not a valid duration (over 0s, at most 24h)"
    assert [str(issue) for issue in runtime.config.issues] == [
        "MYSERVICE_MQ_PORT: 0 is not a valid port (1-65535)",
        f"MYSERVICE_MQ_CONNECT_TIMEOUT: -1s {positive}",
        f"MYSERVICE_MQ_RECONNECT_INTERVAL: 0s {positive}",
        f"MYSERVICE_MQ_PUBLISH_TIMEOUT: -5s {positive}",
        "MYSERVICE_MQ_DRAIN_TIMEOUT: -1ms is not a valid duration (0s-24h)",
    ]


@pytest.mark.integration
async def test_an_unknown_vhost_is_named_with_the_broker_s_own_words() -> None:
    vhost = f"missing-{uuid.uuid4().hex[:8]}"
    plugin = build("mq", {"MYSERVICE_MQ_VHOST": vhost, "MYSERVICE_MQ_HOST": "127.0.0.1"})
    with pytest.raises(rabbitmq.RabbitMQConnectionError) as raised:
        await plugin.pre_start()
    assert str(raised.value) == (
        'plugin "mq" (rabbitmq): cannot connect to 127.0.0.1:5672: the broker refused virtual '
        f"host {vhost!r}: NOT_ALLOWED - vhost {vhost} not found (reply code 530). Hint: check "
        "MYSERVICE_MQ_VHOST and MYSERVICE_MQ_USERNAME (or MYSERVICE_MQ_DSN) and that RabbitMQ "
        "runs there"
    )


@pytest.mark.integration
async def test_an_unknown_vhost_in_the_dsn_is_named_without_the_password() -> None:
    vhost = f"missing-{uuid.uuid4().hex[:8]}"
    dsn = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    plugin = build("mq", {"MYSERVICE_MQ_DSN": dsn})
    with pytest.raises(rabbitmq.RabbitMQConnectionError) as raised:
        await plugin.pre_start()
    text = str(raised.value)
    assert f"NOT_ALLOWED - vhost {vhost} not found (reply code 530)" in text
    assert "check MYSERVICE_MQ_VHOST and MYSERVICE_MQ_USERNAME (or MYSERVICE_MQ_DSN)" in text
    assert "guest:guest" not in text


@pytest.mark.integration
async def test_a_wrong_password_shows_the_broker_s_refusal_and_not_the_password() -> None:
    environ = {"MYSERVICE_MQ_HOST": "127.0.0.1", "MYSERVICE_MQ_PASSWORD": "not-the-pa55word"}
    plugin = build("mq", environ)
    with pytest.raises(rabbitmq.RabbitMQConnectionError) as raised:
        await plugin.pre_start()
    assert str(raised.value) == (
        'plugin "mq" (rabbitmq): cannot connect to 127.0.0.1:5672: the broker refused the '
        "login: ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For "
        "details see the broker logfile. (reply code 403). Hint: check MYSERVICE_MQ_USERNAME "
        "and MYSERVICE_MQ_PASSWORD (or MYSERVICE_MQ_DSN) and that RabbitMQ runs there"
    )


def test_the_retry_variables_are_read_with_the_nats_plugin_s_names_too() -> None:
    plugin = build(
        "queue",
        {
            "MYSERVICE_QUEUE_RETRY_DELAY": "250ms",
            "MYSERVICE_QUEUE_MAX_DELAY": "5s",
            "MYSERVICE_QUEUE_BACKOFF": "3",
            "MYSERVICE_QUEUE_RETRY_JITTER": "0",
            "MYSERVICE_QUEUE_WIRE_FORMAT": "lastbackend",
        },
    )
    config = plugin.config
    assert (config.retry_delay, config.retry_max_delay) == (
        timedelta(milliseconds=250),
        timedelta(seconds=5),
    )
    assert (config.backoff, config.retry_jitter, config.wire_format) == (3.0, 0.0, "lastbackend")


def test_bad_retry_variables_are_reported_by_name() -> None:
    environ = {
        "MYSERVICE_QUEUE_RETRY_DELAY": "10s",
        "MYSERVICE_QUEUE_RETRY_MAX_DELAY": "1s",
        "MYSERVICE_QUEUE_RETRY_JITTER": "1.5",
        "MYSERVICE_QUEUE_WIRE_FORMAT": "go",
    }
    runtime = new_test_runtime("orders", env_prefix="MYSERVICE", environ=environ)
    new_plugin(runtime, Options("queue"))
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    text = str(caught.value)
    assert "MYSERVICE_QUEUE_RETRY_JITTER" in text
    assert "MYSERVICE_QUEUE_WIRE_FORMAT" in text


def test_a_longest_delay_under_the_first_is_reported() -> None:
    environ = {"MYSERVICE_QUEUE_RETRY_DELAY": "10s", "MYSERVICE_QUEUE_RETRY_MAX_DELAY": "1s"}
    runtime = new_test_runtime("orders", env_prefix="MYSERVICE", environ=environ)
    new_plugin(runtime, Options("queue"))
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    assert (
        "MYSERVICE_QUEUE_RETRY_MAX_DELAY: 1s is shorter than MYSERVICE_QUEUE_RETRY_DELAY (10s)"
        in str(caught.value)
    )
