"""Adversarial values for every variable of the runtime, the servers and the shipped plugins.

The variables are not listed here: they come from the config controller of a
service that declares gRPC and HTTP servers and every shipped plugin, so a
variable added tomorrow is fuzzed tomorrow. Two properties:

- parsing any value of any variable never raises but ``ConfigError``, and
  every problem is reported under a full variable name;
- starting a service with such values either works or fails with an error
  of ours that names a variable, never a bare ``OverflowError``,
  ``AssertionError``, ``UnicodeError``, ``TypeError`` or ``KeyError``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Mapping
from typing import Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lbtoolkit
from greeter_demo.gen import greeter_pb2
from greeter_demo.gen.greeter_toolkit import GREETER_SPEC, register_greeter_rpc_server
from lbtoolkit import LbToolkitError
from lbtoolkit.config import ConfigError
from lbtoolkit.plugins import (
    centrifuge,
    postgres_gorm,
    postgres_pg,
    postgres_pgx,
    prometheus,
    rabbitmq,
    redis,
    sentry,
)
from lbtoolkit.server import RequestContext
from tests.faults.figures import Figures
from tests.support.scale import scaled

pytestmark = pytest.mark.faults

PREFIX: Final = "FZ"
# The plugins that open no connection unless told to: always part of a started service.
QUIET_PLUGINS: Final = {"centrifuge": centrifuge, "prometheus": prometheus, "sentry": sentry}
CONNECTING_PLUGINS: Final = {
    "postgres_gorm": postgres_gorm,
    "postgres_pg": postgres_pg,
    "postgres_pgx": postgres_pgx,
    "rabbitmq": rabbitmq,
    "redis": redis,
}
TRACEBACK_TYPES: Final = (OverflowError, AssertionError, UnicodeError, TypeError, KeyError)
NASTY: Final = (
    *("", " ", "\t", "\n", "0", "-0", "1", "-1", "-5", "-5s", "0s", "70000", "65536"),
    *("9" * 26, "-" + "9" * 26, "2147483648", "1e309", "nan", "inf", "-inf", "0.5", "1.5"),
    *("99999999999999999999h", "25h", "1h" * 40, "..", ".", "x", "/", "//", "/x y"),
    *("\u202e", "\u200b", "\x00", "\x1b[31m", "é", "ß.example", "999.1.1.1", "::", "[::1]"),
    *("localhost", "0.0.0.0", "true", "false", "maybe", "a,b", ":", "a:b", "1:2,3:4"),  # noqa: S104 - values parsed, never bound
    *("amqp://", "amqp://u:p@", "postgres://", "redis://x", "https://k@/1", "%zz", "x" * 5000),
    *("postgres://[::1/db", "postgres://h:99999/db", "amqp://h:99999/", "amqp://[::1/"),
    *("https://k@[::1/1", "https://k@h:99999/1", "[::1", "h:99999"),
    "/" + "x" * 5000,
)
# Values that parse but may still trip the start: not local, not found, edges of ranges.
RISKY: Final = (
    *("0", "1", "65535", "2147483647", "1ms", "24h", "0s", "localhost", "::", "[::1]"),
    *("10.255.255.1", "nonexistent.invalid", "guest", "/", "/a", "x", "true", "127.0.0.1"),
)


class FuzzGreeter:
    """An implementation so the declared service can start; never called."""

    async def say_hello(
        self, request: greeter_pb2.SayHelloRequest, context: RequestContext
    ) -> greeter_pb2.SayHelloResponse:
        del request, context
        return greeter_pb2.SayHelloResponse()

    async def set_greeting(
        self, request: greeter_pb2.SetGreetingRequest, context: RequestContext
    ) -> greeter_pb2.SetGreetingResponse:
        del request, context
        return greeter_pb2.SetGreetingResponse()


def constant(value: object) -> Callable[[], object]:
    return lambda: value


def build(environ: Mapping[str, str], plugins: tuple[str, ...]) -> lbtoolkit.Service:
    """A service with gRPC and HTTP servers and the named shipped plugins."""
    app = lbtoolkit.new_service("fuzz", env_prefix=PREFIX, environ=environ, argv=[])
    app.server.declare(GREETER_SPEC)
    register_greeter_rpc_server(app, FuzzGreeter)
    every = {**QUIET_PLUGINS, **CONNECTING_PLUGINS}
    for name in plugins:
        module = every[name]
        plugin = module.new_plugin(app.runtime, module.Options(name))
        # As generated code does: the lifecycle runs the hooks of provided plugins.
        app.runtime.plugin.provide(constant(plugin), provides=module.Plugin, name=name)
    return app


def variable_names(plugins: tuple[str, ...]) -> list[str]:
    """Every name the service reads, aliases included, as help knows them."""
    variables = build({}, plugins).runtime.config.variables()
    return sorted({name for v in variables for name in (v.name, *v.aliases)})


ALL_PLUGINS: Final = (*QUIET_PLUGINS, *CONNECTING_PLUGINS)
ALL_NAMES: Final = variable_names(ALL_PLUGINS)
values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers().map(str),
    st.integers().map(lambda number: f"{number}ms"),
)


def check_issues(config: lbtoolkit.config.ConfigController, known: set[str]) -> int:
    """Assert every issue names a full variable (or a model's ``PREFIX_*``); count them."""
    issues = config.issues
    for issue in issues:
        assert issue.variable in known or issue.variable.endswith("*"), issue
        assert issue.message, issue
    if not issues:
        config.raise_for_issues()
        return 0
    with pytest.raises(ConfigError) as raised:
        config.raise_for_issues()
    assert all(issue.variable in str(raised.value) for issue in issues)
    return len(issues)


def test_variables_come_from_the_services_config() -> None:
    assert len(ALL_NAMES) > 100
    assert f"{PREFIX}_SHUTDOWN_TIMEOUT" in ALL_NAMES
    assert f"{PREFIX}_FUZZ_GRPC_SERVER_PORT" in ALL_NAMES
    assert f"{PREFIX}_RABBITMQ_DRAIN_TIMEOUT" in ALL_NAMES
    assert f"{PREFIX}_POSTGRES_PG_SSLMODE" in ALL_NAMES  # an alias


def test_parsing_any_value_raises_only_config_errors_naming_the_variable(
    figures: Figures,
) -> None:
    known = set(ALL_NAMES)
    seen = {"examples": 0, "problems": 0}

    @settings(
        max_examples=scaled(quick=80, full=400),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.dictionaries(st.sampled_from(ALL_NAMES), values, min_size=1, max_size=8))
    def parse(environ: dict[str, str]) -> None:
        app = build(environ, ALL_PLUGINS)
        config = app.runtime.config
        seen["examples"] += 1
        seen["problems"] += check_issues(config, known)
        assert config.print_table(all=True)
        assert config.print_yaml(all=True)

    parse()
    figures.record_all(
        {"variables": len(ALL_NAMES), "examples": seen["examples"], "problems": seen["problems"]}
    )
    print(f"parse fuzz: {len(ALL_NAMES)} variables, {seen}")  # noqa: T201 - figures in -s runs
    assert seen["problems"] > 0


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_environment(plugin: str | None) -> dict[str, str]:
    """Loopback, any free port, short timeouts: a start that fails fails fast."""
    port = str(closed_port())
    environ = {
        f"{PREFIX}_FUZZ_GRPC_SERVER_LISTEN": "127.0.0.1",
        f"{PREFIX}_FUZZ_GRPC_SERVER_PORT": "0",
        f"{PREFIX}_FUZZ_SERVER_LISTEN": "127.0.0.1",
        f"{PREFIX}_FUZZ_SERVER_PORT": "0",
        f"{PREFIX}_PROBES_SERVER_LISTEN": "127.0.0.1",
        f"{PREFIX}_PROBES_SERVER_PORT": "0",
        f"{PREFIX}_PROMETHEUS_SERVER_LISTEN": "127.0.0.1",
        f"{PREFIX}_PROMETHEUS_SERVER_PORT": "0",
        f"{PREFIX}_SHUTDOWN_TIMEOUT": "2s",
    }
    if plugin is None:
        return environ
    head = f"{PREFIX}_{plugin.upper()}_"
    environ[f"{head}HOST"] = "127.0.0.1"
    environ[f"{head}PORT"] = port
    if plugin.startswith("postgres"):
        environ.update({f"{head}CONN_ATTEMPTS": "1", f"{head}CONN_TIMEOUT": "1s"})
    elif plugin == "rabbitmq":
        environ[f"{head}CONNECT_TIMEOUT"] = "1s"
    else:
        environ[f"{head}DIAL_TIMEOUT"] = "1"
    return environ


def traceback_types(error: BaseException) -> list[str]:
    """Types that say "a bug" rather than "a bad value", among what our code raised.

    That is ``error``, the error a ``StartError`` reports (its cause) and the
    members of a group; what a library raised below an error of ours is the
    library's detail, quoted in our message.
    """
    raised: list[BaseException] = [error]
    if error.__cause__ is not None:
        raised.append(error.__cause__)
    for each in list(raised):
        if isinstance(each, BaseExceptionGroup):
            raised.extend(each.exceptions)
    return [
        type(each).__name__
        for each in raised
        if isinstance(each, TRACEBACK_TYPES) and not isinstance(each, LbToolkitError)
    ]


async def start_and_stop(app: lbtoolkit.Service) -> BaseException | None:
    try:
        async with asyncio.timeout(20):
            await app.start()
            await app.stop()
    except Exception as error:  # noqa: BLE001 - every error is examined by the caller
        return error
    return None


def test_starting_with_bad_values_fails_naming_a_variable(figures: Figures) -> None:
    seen = {"examples": 0, "started": 0, "refused": 0}
    # Without a connecting plugin the start reaches the servers: weighted so half the starts do.
    plugin_choices = [*[None] * len(CONNECTING_PLUGINS), *CONNECTING_PLUGINS]

    @settings(
        max_examples=60,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.sampled_from(plugin_choices), st.data())
    def start(plugin: str | None, data: st.DataObject) -> None:
        plugins = (*QUIET_PLUGINS, *(() if plugin is None else (plugin,)))
        # A start told to try a thousand times waits by design; the parse test covers them.
        names = [name for name in variable_names(plugins) if not name.endswith("_CONN_ATTEMPTS")]
        fuzzed = data.draw(
            st.dictionaries(
                st.sampled_from(names),
                st.sampled_from(RISKY) | st.sampled_from(RISKY) | st.sampled_from(NASTY),
                min_size=1,
                max_size=2,
            )
        )
        app = build({**base_environment(plugin), **fuzzed}, plugins)
        error = asyncio.run(start_and_stop(app))
        seen["examples"] += 1
        if error is None:
            seen["started"] += 1
            return
        seen["refused"] += 1
        kind = type(error).__name__
        seen[kind] = seen.get(kind, 0) + 1
        text = str(error)
        assert not traceback_types(error), (fuzzed, traceback_types(error), text)
        assert isinstance(error, LbToolkitError), (fuzzed, repr(error))
        assert any(name in text for name in names), (fuzzed, text)

    start()
    figures.record_all(seen)
    print(f"start fuzz: {seen}")  # noqa: T201 - figures in -s runs
    assert seen["refused"] > 0
