"""The registry plugin's variables: defaults, ranges, and problems named by variable."""

from __future__ import annotations

import datetime as dt

import pytest

from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import registry_etcd
from lbtoolkit.plugins.registry_etcd._config import Endpoint, parse_endpoints


def test_defaults() -> None:
    plugin = registry_etcd.new_test_plugin()
    assert isinstance(plugin, registry_etcd.EtcdRegistryPlugin)
    config = plugin.config
    assert config.endpoints == "127.0.0.1:2379"
    assert config.dial_timeout == dt.timedelta(seconds=5)
    assert config.lease_ttl == dt.timedelta(seconds=10)
    assert config.key_prefix == "/lbtoolkit/services/"
    assert config.advertise_host == ""
    assert plugin.keys() == ()
    assert not plugin.registered


def test_every_bad_variable_is_named_at_once() -> None:
    environ = {
        "REGISTRY_ENDPOINTS": "etcd-0:99999,etcd-1",
        "REGISTRY_LEASE_TTL": "1s",
        "REGISTRY_DIAL_TIMEOUT": "0s",
        "REGISTRY_KEY_PREFIX": "services",
        "REGISTRY_USERNAME": "root",
        "REGISTRY_ADVERTISE_HOST": "0.0.0.0",  # noqa: S104 - the refused value under test
    }
    with pytest.raises(ConfigError) as failed:
        registry_etcd.new_test_plugin(environ=environ)
    assert str(failed.value) == (
        "invalid configuration: 6 problems\n"
        "  REGISTRY_DIAL_TIMEOUT: 0s is not a valid duration (over 0s, at most 24h)\n"
        "  REGISTRY_LEASE_TTL: 1s is not a valid duration (2s-1h)\n"
        "  REGISTRY_KEY_PREFIX: 'services' must start and end with '/' "
        "(like /lbtoolkit/services/)\n"
        "  REGISTRY_ENDPOINTS: 'etcd-0:99999': port '99999' is not a number from 1 to 65535\n"
        "  REGISTRY_ADVERTISE_HOST: '0.0.0.0': a wildcard address cannot be dialled\n"
        "  REGISTRY_PASSWORD: required when REGISTRY_USERNAME is set\n"
        "Hint: give host:port pairs separated by commas, like etcd-0:2379,etcd-1:2379\n"
        "Hint: give the address other services reach this one at (the pod IP, a DNS name)\n"
        "Hint: set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither"
    )


def test_the_lease_takes_whole_seconds_and_the_password_needs_a_user() -> None:
    environ = {"REGISTRY_LEASE_TTL": "2500ms", "REGISTRY_PASSWORD": "hunter2"}
    with pytest.raises(ConfigError) as failed:
        registry_etcd.new_test_plugin(environ=environ)
    text = str(failed.value)
    assert "REGISTRY_LEASE_TTL: 2.5s is not a whole number of seconds" in text
    assert "REGISTRY_USERNAME: required when REGISTRY_PASSWORD is set" in text
    assert "hunter2" not in text


def test_info_masks_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"REGISTRY_USERNAME": "svc", "REGISTRY_PASSWORD": "hunter2"}
    text = registry_etcd.new_test_plugin(environ=environ).info()
    assert "REGISTRY_PASSWORD           = ******" in text
    assert "hunter2" not in text + capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("etcd-0:2379", (Endpoint("etcd-0", 2379),)),
        ("etcd-0", (Endpoint("etcd-0", 2379),)),
        (
            "http://10.0.0.1:2379/, 10.0.0.2:32379",
            (Endpoint("10.0.0.1", 2379), Endpoint("10.0.0.2", 32379)),
        ),
        ("[::1]:2379", (Endpoint("::1", 2379),)),
    ],
)
def test_endpoints(text: str, expected: tuple[Endpoint, ...]) -> None:
    assert parse_endpoints(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no endpoint given"),
        (" , ", "no endpoint given"),
        ("etcd-0:port", "port 'port' is not a number"),
        (":2379", "':2379': no host"),
    ],
)
def test_endpoints_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_endpoints(text)
