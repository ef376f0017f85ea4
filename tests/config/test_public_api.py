from __future__ import annotations

import lbtoolkit.config


def test_all_is_sorted_and_complete() -> None:
    assert lbtoolkit.config.__all__ == sorted(lbtoolkit.config.__all__)
    assert lbtoolkit.config.__all__ == [
        "ByteSize",
        "ConfigController",
        "ConfigError",
        "ConfigIssue",
        "ConfigModelError",
        "HostName",
        "HttpPath",
        "Kind",
        "ListenAddress",
        "MessageSize",
        "NonNegativeDuration",
        "NonNegativeInt",
        "Port",
        "PositiveDuration",
        "PositiveInt",
        "RemotePort",
        "SampleRate",
        "UnreadVariable",
        "UnreadVariablesError",
        "Variable",
        "check_host_name",
        "env",
        "env_prefix",
        "format_duration",
        "parse_duration",
    ]


def test_every_export_claims_the_package_as_its_module() -> None:
    for name in lbtoolkit.config.__all__:
        assert getattr(lbtoolkit.config, name).__module__ == "lbtoolkit.config", name
