"""The helpers and base errors several plugins share (the test builder: tests/testing)."""

from __future__ import annotations

import pytest

from lbtoolkit import LbToolkitError
from lbtoolkit.plugins import prometheus, rabbitmq, sentry
from lbtoolkit.plugins._support import (
    PluginAddressError,
    PluginConnectionError,
    describe,
)


def test_describe_names_the_type_and_blanks_secrets() -> None:
    assert describe(TimeoutError()) == "TimeoutError"
    error = OSError("login as bob:hunter2 refused")
    assert describe(error, ("", "hunter2")) == "OSError: login as bob:****** refused"


@pytest.mark.parametrize(
    ("error_class", "builtin", "verb"),
    [
        (sentry.SentryConnectionError, ConnectionError, "connect to"),
        (rabbitmq.RabbitMQConnectionError, ConnectionError, "connect to"),
        (prometheus.PrometheusServerError, OSError, "listen on"),
    ],
)
def test_address_errors_keep_their_builtin_and_message(
    error_class: type[PluginAddressError], builtin: type[Exception], verb: str
) -> None:
    error = error_class('plugin "p" (kind)', "127.0.0.1", 80, "OSError: refused", "check P_PORT")
    assert isinstance(error, LbToolkitError)
    assert isinstance(error, builtin)
    assert (error.owner, error.host, error.port) == ('plugin "p" (kind)', "127.0.0.1", 80)
    assert str(error) == (
        f'plugin "p" (kind): cannot {verb} 127.0.0.1:80: OSError: refused. Hint: check P_PORT'
    )


def test_a_listener_error_is_not_a_connection_error() -> None:
    assert not issubclass(prometheus.PrometheusServerError, PluginConnectionError)
    assert not issubclass(prometheus.PrometheusServerError, ConnectionError)
