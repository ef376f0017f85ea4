"""The shared constrained types: their rules in help, their messages, host name syntax."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, SecretStr, field_validator

from lbtoolkit.config import (
    ByteSize,
    ConfigController,
    HttpPath,
    ListenAddress,
    MessageSize,
    NonNegativeDuration,
    NonNegativeInt,
    Port,
    PositiveDuration,
    PositiveInt,
    RemotePort,
    SampleRate,
    check_host_name,
    env,
)


class Settings(BaseModel):
    port: Port = env("PORT", default=9000, comment="Server port")
    remote: RemotePort = env("REMOTE", default=5432)
    grace: NonNegativeDuration = env("GRACE", default="0s")
    timeout: PositiveDuration = env("TIMEOUT", default="5s", comment="Timeout")
    body: ByteSize = env("BODY", default=0)
    message: MessageSize = env("MESSAGE", default=1024)
    count: NonNegativeInt = env("COUNT", default=0)
    workers: PositiveInt = env("WORKERS", default=1)
    rate: SampleRate = env("RATE", default=1.0)
    path: HttpPath = env("PATH", default="/x")
    listen: ListenAddress = env("LISTEN", default="0.0.0.0")  # noqa: S104 - a sample default
    level: Literal["debug", "info"] = env("LEVEL", default="info", comment="Level")
    maybe_port: RemotePort | None = env("MAYBE_PORT", default=None)


def issues_for(environ: dict[str, str]) -> list[str]:
    controller = ConfigController("svc", environ)
    controller.parse(Settings)
    return [str(issue) for issue in controller.issues]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PORT", "70000", "70000 is not a valid port (0-65535)"),
        ("PORT", "9" * 26, f"{'9' * 26} is not a valid port (0-65535)"),
        ("PORT", "-1", "-1 is not a valid port (0-65535)"),
        ("REMOTE", "0", "0 is not a valid port (1-65535)"),
        ("GRACE", "-5s", "-5s is not a valid duration (0s-24h)"),
        ("GRACE", "25h", "25h is not a valid duration (0s-24h)"),
        ("TIMEOUT", "0s", "0s is not a valid duration (over 0s, at most 24h)"),
        ("BODY", "-1", "-1 is not a valid size (at least 0)"),
        ("MESSAGE", "2147483648", "2147483648 is not a valid message size (1-2147483647)"),
        ("COUNT", "-1", "-1 is out of range (at least 0)"),
        ("WORKERS", "0", "0 is out of range (at least 1)"),
        ("RATE", "1.5", "1.5 is not a valid rate (0-1)"),
        ("PATH", "x", "'x' is not a valid path (must start with /)"),
        (
            "PATH",
            "/a b",
            "'/a b' is not a valid path (no spaces, control or bidirectional characters)",
        ),
        ("LISTEN", "999.1.1.1", "'999.1.1.1' is not a valid IPv4 address"),
        ("LEVEL", "trace", "'trace' is not one of debug, info"),
        ("MAYBE_PORT", "65536", "65536 is not a valid port (1-65535)"),
    ],
)
def test_a_bad_value_is_reported_in_the_configs_words(
    variable: str, value: str, message: str
) -> None:
    assert issues_for({f"SVC_{variable}": value}) == [f"SVC_{variable}: {message}"]


def test_every_violation_is_reported_at_once() -> None:
    environ = {"SVC_PORT": "70000", "SVC_TIMEOUT": "-5s", "SVC_PATH": "x", "SVC_RATE": "2"}
    assert issues_for(environ) == [
        "SVC_PORT: 70000 is not a valid port (0-65535)",
        "SVC_TIMEOUT: -5s is not a valid duration (over 0s, at most 24h)",
        "SVC_RATE: 2.0 is not a valid rate (0-1)",
        "SVC_PATH: 'x' is not a valid path (must start with /)",
    ]


def test_help_shows_each_rule_after_the_description() -> None:
    controller = ConfigController("svc", {})
    controller.parse(Settings)
    rules = {variable.name: variable.rule for variable in controller.variables()}
    assert rules == {
        "SVC_PORT": "0-65535",
        "SVC_REMOTE": "1-65535",
        "SVC_GRACE": "0s-24h",
        "SVC_TIMEOUT": "over 0s, at most 24h",
        "SVC_BODY": "at least 0",
        "SVC_MESSAGE": "1-2147483647",
        "SVC_COUNT": "at least 0",
        "SVC_WORKERS": "at least 1",
        "SVC_RATE": "0-1",
        "SVC_PATH": "starts with /",
        "SVC_LISTEN": "IP address or host name",
        "SVC_LEVEL": "one of debug, info",
        "SVC_MAYBE_PORT": "1-65535",
    }
    table = controller.print_table(all=True)
    assert "| SVC_PORT       | 9000          | no       | Server port (0-65535)" in table
    assert "| SVC_REMOTE     | 5432          | no       | (1-65535)" in table
    yaml = controller.print_yaml(all=True)
    assert '# Timeout (over 0s, at most 24h)\nSVC_TIMEOUT: "5s"' in yaml
    assert '# Level (one of debug, info)\nSVC_LEVEL: "info"' in yaml


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",  # noqa: S104 - an address checked, not bound
        "::",
        "[::1]",
        "127.0.0.1",
        "localhost",
        "api.example.com",
        "localhost.",
        "bücher.de",
    ],
)
def test_addresses_and_host_names_pass(address: str) -> None:
    assert check_host_name(address) == ""


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("", "'' is not a valid address (use 0.0.0.0 for every interface)"),
        ("999.1.1.1", "'999.1.1.1' is not a valid IPv4 address"),
        ("1::2::3", "'1::2::3' is not a valid IPv6 address"),
        ("..", "'..' is not a valid host name"),
        ("a b", "'a b' is not a valid host name"),
        ("-a", "'-a' is not a valid host name"),
        ("a" * 64, f"{'a' * 64!r} is not a valid host name"),
        ("\u202e", "'\\u202e' is not a valid host name (control or bidirectional characters)"),
        ("a\x00b", "'a\\x00b' is not a valid host name (control or bidirectional characters)"),
        (
            ".".join(["a" * 60] * 5),
            f"{'.'.join(['a' * 60] * 5)!r} is not a valid host name (longer than 253 characters)",
        ),
    ],
)
def test_other_addresses_are_refused_naming_why(address: str, problem: str) -> None:
    assert check_host_name(address) == problem


def test_an_item_of_a_list_is_worded_by_its_own_type() -> None:
    class Ports(BaseModel):
        ports: list[Port] = env("PORTS", default=[])

    controller = ConfigController("", {"PORTS": "80,70000"})
    controller.parse(Ports)
    assert [str(issue) for issue in controller.issues] == [
        "PORTS: item 2: 70000 is not a valid port (0-65535)"
    ]


def test_a_secret_value_is_never_echoed() -> None:
    class Keyed(BaseModel):
        key: SecretStr = env("KEY", default="")

        @field_validator("key")
        @classmethod
        def _short(cls, value: Any) -> Any:
            msg = f"{value.get_secret_value()} is too short"
            raise ValueError(msg)

    controller = ConfigController("", {"KEY": "hunter2"})
    controller.parse(Keyed)
    assert [str(issue) for issue in controller.issues] == ["KEY: invalid value (hidden)"]
