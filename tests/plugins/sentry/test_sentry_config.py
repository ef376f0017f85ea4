"""Configuration, ``info()`` and the public face of the Sentry plugin (no server needed)."""

from __future__ import annotations

import importlib.metadata
from typing import cast

import pytest

from lbtoolkit import LbToolkitError
from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import sentry
from lbtoolkit.plugins.sentry import Options, SentryPlugin, new_plugin, new_test_plugin
from lbtoolkit.testing import new_test_runtime


def test_defaults_are_the_guides() -> None:
    plugin = cast("SentryPlugin", new_test_plugin())
    config = plugin.config
    assert config.dsn.get_secret_value() == ""
    assert config.environment == ""
    assert config.sample_rate == 1.0
    assert not config.check_connection
    assert not plugin.enabled


def test_two_instances_read_their_own_prefixed_variables() -> None:
    runtime = new_test_runtime(
        "shop",
        env_prefix="MYSERVICE",
        environ={
            "MYSERVICE_SENTRY_DSN": "https://key1@o1.ingest.example/1",
            "MYSERVICE_SENTRY_ENVIRONMENT": "staging",
            "MYSERVICE_ERRORS_DSN": "https://key2@o2.ingest.example/2",
            "MYSERVICE_ERRORS_SAMPLE_RATE": "0.25",
            "MYSERVICE_ERRORS_RELEASE": "shop@1.2.3",
        },
    )
    first = cast("SentryPlugin", new_plugin(runtime, Options()))
    second = cast("SentryPlugin", new_plugin(runtime, Options("errors")))
    runtime.config.raise_for_issues()
    assert first.config.environment == "staging"
    assert first.config.sample_rate == 1.0
    assert second.config.environment == ""
    assert second.config.sample_rate == 0.25
    assert second.config.release == "shop@1.2.3"
    assert first._dsn is not None
    assert (first._dsn.host, first._dsn.port) == ("o1.ingest.example", 443)


def test_bad_variables_are_reported_together_without_the_dsn() -> None:
    runtime = new_test_runtime(
        "shop",
        env_prefix="MYSERVICE",
        environ={
            "MYSERVICE_SENTRY_DSN": "key-1234567@nowhere",
            "MYSERVICE_SENTRY_SAMPLE_RATE": "2",
        },
    )
    new_plugin(runtime, Options())
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    text = str(caught.value)
    assert "MYSERVICE_SENTRY_SAMPLE_RATE: 2.0 is not a valid rate (0-1)" in text
    assert "MYSERVICE_SENTRY_DSN: not a Sentry DSN (value hidden)" in text
    assert "key-1234567" not in text


def test_info_masks_the_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    plugin = new_test_plugin(environ={"SENTRY_DSN": "https://secretkey@o1.ingest.example/1"})
    text = plugin.info()
    assert capsys.readouterr().out == text + "\n"
    assert "secretkey" not in text
    assert text == (
        'plugin "sentry" (sentry)\n'
        "  SENTRY_DSN              = ******\n"
        "  SENTRY_ENVIRONMENT      =\n"
        "  SENTRY_SAMPLE_RATE      = 1.0\n"
        "  SENTRY_RELEASE          =\n"
        "  SENTRY_CHECK_CONNECTION = false\n"
        "  SENTRY_CONNECT_TIMEOUT  = 2s\n"
        "  SENTRY_SHUTDOWN_TIMEOUT = 2s"
    )


def test_public_api_is_sorted_and_lives_in_the_package() -> None:
    exported = list(sentry.__all__)
    assert exported == sorted(exported)
    for name in exported:
        value = getattr(sentry, name)
        if isinstance(value, type):
            assert value.__module__ == "lbtoolkit.plugins.sentry", name
    assert issubclass(sentry.SentryConnectionError, LbToolkitError)
    assert issubclass(sentry.SentryConnectionError, ConnectionError)


def test_entry_point_finds_the_plugin_by_name() -> None:
    (entry,) = importlib.metadata.entry_points(group="lbtoolkit.plugins", name="sentry")
    assert entry.load() is sentry


def test_a_dsn_with_a_port_out_of_range_is_a_config_issue_with_its_value_hidden() -> None:
    runtime = new_test_runtime(
        "shop", env_prefix="MYSERVICE", environ={"MYSERVICE_SENTRY_DSN": "https://k@h:99999/1"}
    )
    new_plugin(runtime, Options())
    with pytest.raises(ConfigError) as caught:
        runtime.config.raise_for_issues()
    assert "MYSERVICE_SENTRY_DSN: not a Sentry DSN (value hidden)" in str(caught.value)
    assert "99999" not in str(caught.value)
