"""Configuration, ``info()`` and the public face of the NATS plugin (no server needed)."""

from __future__ import annotations

import importlib.metadata
from datetime import timedelta
from typing import cast

import pytest
from nats.aio.msg import Msg
from tests.plugins.nats.nats_support import make_plugin

from lbtoolkit import LbToolkitError
from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import nats, rabbitmq
from lbtoolkit.plugins.nats import NatsPlugin, Options, new_plugin, new_test_plugin
from lbtoolkit.plugins.nats._wire import (
    consumer_name,
    delivery_count,
    retry_delay,
    stream_name,
    subject_root,
)
from lbtoolkit.testing import new_test_runtime


def issues_of(environ: dict[str, str]) -> list[str]:
    runtime = new_test_runtime("orders", env_prefix="MYSERVICE", environ=environ)
    new_plugin(runtime, Options("ev"))
    return [str(issue) for issue in runtime.config.issues]


def test_defaults() -> None:
    plugin = cast("NatsPlugin", new_test_plugin())
    config = plugin.config
    assert config.addr == "localhost:4222"
    assert config.url.get_secret_value() == ""
    assert (config.max_deliver, config.prefetch, config.max_reconnects) == (4, 1, -1)
    assert (config.retry_delay, config.max_delay, config.backoff) == (
        timedelta(seconds=1),
        timedelta(minutes=1),
        2.0,
    )
    assert config.ack_wait == config.publish_timeout == timedelta(seconds=30)
    assert plugin.stream == "test"
    assert plugin.connection_name == "test:nats"


def test_two_instances_read_their_own_prefixed_variables() -> None:
    runtime = new_test_runtime(
        "orders",
        env_prefix="MYSERVICE",
        environ={
            "MYSERVICE_EVENTS_ADDR": "n1.example:4223, n2.example",
            "MYSERVICE_EVENTS_MAX_DELIVER": "7",
            "MYSERVICE_AUDIT_URL": "nats://audit:pw@audit.example:5999",
            "MYSERVICE_AUDIT_STREAM": "AUDIT_orders",
            "MYSERVICE_AUDIT_RETRY_DELAY": "250ms",
        },
    )
    events = cast("NatsPlugin", new_plugin(runtime, Options("events")))
    audit = cast("NatsPlugin", new_plugin(runtime, Options("audit")))
    runtime.config.raise_for_issues()
    assert events._servers.urls == ("nats://n1.example:4223", "nats://n2.example:4222")
    assert str(events._servers) == "n1.example:4223, n2.example:4222"
    assert events.config.max_deliver == 7
    assert audit._servers.urls == ("nats://audit:pw@audit.example:5999",)
    assert str(audit._servers) == "audit.example:5999"  # no password in what is shown
    assert audit.stream == "AUDIT_orders"
    assert audit.config.retry_delay == timedelta(milliseconds=250)


def test_every_bad_value_is_named_with_its_rule() -> None:
    environ = {
        "MYSERVICE_EV_CONNECT_TIMEOUT": "0s",
        "MYSERVICE_EV_RECONNECT_WAIT": "-1s",
        "MYSERVICE_EV_MAX_RECONNECTS": "-2",
        "MYSERVICE_EV_PUBLISH_TIMEOUT": "25h",
        "MYSERVICE_EV_ACK_WAIT": "0s",
        "MYSERVICE_EV_MAX_DELIVER": "0",
        "MYSERVICE_EV_RETRY_DELAY": "-1s",
        "MYSERVICE_EV_MAX_DELAY": "48h",
        "MYSERVICE_EV_BACKOFF": "0.5",
        "MYSERVICE_EV_PREFETCH": "0",
        "MYSERVICE_EV_STREAM": "orders.events",
        "MYSERVICE_EV_STREAM_MAX_AGE": "9000h",
        "MYSERVICE_EV_DRAIN_TIMEOUT": "-1ms",
    }
    positive = "is not a valid duration (over 0s, at most 24h)"
    assert issues_of(environ) == [
        f"MYSERVICE_EV_CONNECT_TIMEOUT: 0s {positive}",
        f"MYSERVICE_EV_RECONNECT_WAIT: -1s {positive}",
        "MYSERVICE_EV_MAX_RECONNECTS: -2 is out of range (-1-1000000)",
        f"MYSERVICE_EV_PUBLISH_TIMEOUT: 25h {positive}",
        f"MYSERVICE_EV_ACK_WAIT: 0s {positive}",
        "MYSERVICE_EV_MAX_DELIVER: 0 is out of range (1-1000)",
        "MYSERVICE_EV_RETRY_DELAY: -1s is not a valid duration (0s-24h)",
        "MYSERVICE_EV_MAX_DELAY: 48h is not a valid duration (0s-24h)",
        "MYSERVICE_EV_BACKOFF: 0.5 is not a valid factor (1-10)",
        "MYSERVICE_EV_PREFETCH: 0 is out of range (1-10000)",
        (
            "MYSERVICE_EV_STREAM: 'orders.events' is not a valid stream name "
            "(letters, digits, - and _ only)"
        ),
        "MYSERVICE_EV_STREAM_MAX_AGE: 9000h is not a valid duration (0s-8784h)",
        "MYSERVICE_EV_DRAIN_TIMEOUT: -1ms is not a valid duration (0s-24h)",
    ]


def test_a_bad_url_is_reported_without_its_value() -> None:
    issues = issues_of({"MYSERVICE_EV_URL": "http://user:s3cr3t-value@"})
    assert issues == [
        (
            "MYSERVICE_EV_URL: not a comma-separated list of nats:// (or tls://, ws://, wss://) "
            "URLs with a host (value hidden)"
        )
    ]
    assert "s3cr3t-value" not in "".join(issues)


@pytest.mark.parametrize(
    ("addr", "problem"),
    [
        ("a:1,b:x", "'b:x' has no valid port (expected host:port)"),
        ("host:70000", "'host:70000' has no valid port (expected host:port)"),
        ("bad host:4222", "'bad host:4222': 'bad host' is not a valid host name"),
        (" , ", "no address given (expected host:port)"),
    ],
)
def test_a_bad_addr_names_the_bad_part(addr: str, problem: str) -> None:
    assert issues_of({"MYSERVICE_EV_ADDR": addr}) == [f"MYSERVICE_EV_ADDR: {problem}"]


def test_values_that_contradict_each_other_are_named() -> None:
    environ = {
        "MYSERVICE_EV_RETRY_DELAY": "10s",
        "MYSERVICE_EV_MAX_DELAY": "1s",
        "MYSERVICE_EV_PASSWORD": "pw-secret",
    }
    issues = issues_of(environ)
    assert issues == [
        "MYSERVICE_EV_MAX_DELAY: 1s is shorter than MYSERVICE_EV_RETRY_DELAY (10s)",
        "MYSERVICE_EV_USERNAME: empty while MYSERVICE_EV_PASSWORD is set",
    ]
    assert "pw-secret" not in "".join(issues)


def test_new_test_plugin_raises_config_errors_at_once() -> None:
    with pytest.raises(ConfigError, match="NATS_MAX_DELIVER"):
        new_test_plugin(environ={"NATS_MAX_DELIVER": "-3"})


def test_info_prints_every_variable_with_secrets_masked(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {
        "MYSERVICE_EV_USERNAME": "u",
        "MYSERVICE_EV_PASSWORD": "sup3rsecret",
        "MYSERVICE_EV_TOKEN": "t0kensecret",
        "MYSERVICE_EV_URL": "nats://u:urlsecret@h:4222",
    }
    plugin = make_plugin("orders", environ, prefix="ev", env_prefix="MYSERVICE")
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert text == (
        'plugin "ev" (nats)\n'
        "  MYSERVICE_EV_URL             = ******\n"
        "  MYSERVICE_EV_ADDR            = localhost:4222\n"
        "  MYSERVICE_EV_USERNAME        = u\n"
        "  MYSERVICE_EV_PASSWORD        = ******\n"
        "  MYSERVICE_EV_TOKEN           = ******\n"
        "  MYSERVICE_EV_CONNECT_TIMEOUT = 5s\n"
        "  MYSERVICE_EV_RECONNECT_WAIT  = 1s\n"
        "  MYSERVICE_EV_MAX_RECONNECTS  = -1\n"
        "  MYSERVICE_EV_PUBLISH_TIMEOUT = 30s\n"
        "  MYSERVICE_EV_ACK_WAIT        = 30s\n"
        "  MYSERVICE_EV_MAX_DELIVER     = 4\n"
        "  MYSERVICE_EV_RETRY_DELAY     = 1s\n"
        "  MYSERVICE_EV_MAX_DELAY       = 1m\n"
        "  MYSERVICE_EV_BACKOFF         = 2.0\n"
        "  MYSERVICE_EV_RETRY_JITTER    = 0.1\n"
        "  MYSERVICE_EV_PREFETCH        = 1\n"
        "  MYSERVICE_EV_STREAM          =\n"
        "  MYSERVICE_EV_STREAM_MAX_AGE  = 168h\n"
        "  MYSERVICE_EV_DRAIN_TIMEOUT   = 10s"
    )
    for secret in ("sup3rsecret", "t0kensecret", "urlsecret"):
        assert secret not in text


def test_names_on_the_server_hold_only_what_nats_allows() -> None:
    assert subject_root("billing.v2 *") == "billing_v2__"
    assert stream_name("billing.v2") == "billing_v2"
    assert consumer_name("mailer", "shop", "order.*") == "mailer:shop:order_+"
    assert consumer_name("mailer", "shop", "order.>") == "mailer:shop:order_#"


@pytest.mark.parametrize(
    "reply",
    [
        "$JS.ACK.orders.mailer:orders:paid.3.41.12.1700000000000000000.5",
        "$JS.ACK._.hash123.orders.mailer:orders:paid.3.41.12.1700000000000000000.5",
        "$JS.ACK.hub.hash123.orders.mailer:orders:paid.7.41.12.1700000000000000000.5.x1y2",
    ],
)
def test_the_delivery_count_is_read_as_nats_py_reads_it(reply: str) -> None:
    # The plugin reads the count itself, at a tenth of the cost: if nats-py or the
    # server ever changes the reply's form, this fails before a retry is miscounted.
    expected = Msg(_client=None, subject="orders.paid", reply=reply).metadata.num_delivered  # type: ignore[arg-type]
    assert delivery_count(reply) == expected
    assert expected in {3, 7}


def test_the_retry_delay_grows_by_the_factor_up_to_the_cap() -> None:
    delays = [retry_delay(attempt, 1.0, 2.0, 10.0) for attempt in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert retry_delay(10_000, 1.0, 10.0, 60.0) == 60.0  # no overflow far past the cap
    assert retry_delay(3, 0.0, 2.0, 10.0) == 0.0


def test_public_api_is_sorted_and_shares_the_delivery_with_rabbitmq() -> None:
    exported = list(nats.__all__)
    assert exported == sorted(exported)
    for name in exported:
        value = getattr(nats, name)
        # What both brokers share shows whichever of the two packages loaded first.
        shared = getattr(rabbitmq, name, None) is value
        if isinstance(value, type) and not shared:
            assert value.__module__ == "lbtoolkit.plugins.nats", name
    # One class: a handler annotated with either package's Delivery works with both.
    assert nats.Delivery is rabbitmq.Delivery
    assert issubclass(nats.NatsConnectionError, LbToolkitError)
    assert issubclass(nats.NatsConnectionError, ConnectionError)
    assert issubclass(nats.NatsPublishError, RuntimeError)
    assert issubclass(nats.NatsHandlerError, TypeError)


def test_entry_point_finds_the_plugin_by_name() -> None:
    (entry,) = importlib.metadata.entry_points(group="lbtoolkit.plugins", name="nats")
    assert entry.load() is nats


def test_the_longest_delay_is_read_with_the_rabbitmq_plugin_s_name_too() -> None:
    runtime = new_test_runtime(
        "orders",
        env_prefix="MYSERVICE",
        environ={"MYSERVICE_EV_RETRY_MAX_DELAY": "7s", "MYSERVICE_EV_RETRY_JITTER": "0.5"},
    )
    plugin = cast("NatsPlugin", new_plugin(runtime, Options("ev")))
    runtime.config.raise_for_issues()
    assert (plugin.config.max_delay, plugin.config.retry_jitter) == (timedelta(seconds=7), 0.5)
