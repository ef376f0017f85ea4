"""Adversarial values for every variable of the runtime, the servers and the shipped plugins.

The variables are not listed here: they come from the config controller of a
service that declares gRPC and HTTP servers and every shipped plugin (found
through the ``lbtoolkit.plugins`` entry points), so a variable or a plugin
added tomorrow is fuzzed tomorrow. Two properties:

- parsing any value of any variable never raises but ``ConfigError``, and
  every problem is reported under a variable the example set (the name it
  was set under, an alias included) or names one in its text;
- starting a service against the real local servers with such values either
  works or fails with an error of ours that names a variable the example set
  (or, for a plugin that failed to start, that plugin's variables), never a
  bare ``OverflowError``, ``AssertionError``, ``UnicodeError``, ``TypeError``
  or ``KeyError``.
"""

from __future__ import annotations

import asyncio
import pkgutil
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib.metadata import entry_points
from types import ModuleType
from typing import Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lbtoolkit
import lbtoolkit.plugins
from greeter_demo.gen import greeter_pb2
from greeter_demo.gen.greeter_toolkit import GREETER_SPEC, register_greeter_rpc_server
from lbtoolkit import LbToolkitError
from lbtoolkit.config import ConfigError, ConfigIssue
from lbtoolkit.server import RequestContext
from tests.faults.figures import Figures
from tests.support.etcd import PrivateEtcd
from tests.support.scale import scaled

pytestmark = pytest.mark.faults

PREFIX: Final = "FZ"


def shipped_plugins() -> dict[str, ModuleType]:
    """Every plugin of ``lbtoolkit.plugins`` by its package name, through its entry point.

    Another entry point name of a shipped package (``postgres`` for
    ``postgres_pg``) adds nothing; plugins of other distributions are not ours.
    """
    found: dict[str, ModuleType] = {}
    for entry in entry_points(group="lbtoolkit.plugins"):
        package, _, name = entry.value.rpartition(".")
        if package == lbtoolkit.plugins.__name__ and entry.name == name:
            found[name] = entry.load()
    return dict(sorted(found.items()))


SHIPPED: Final = shipped_plugins()
# The plugins that open no connection unless told to: always part of a started service.
QUIET_PLUGINS: Final = ("centrifuge", "prometheus", "sentry")
# The plugins that need others of the service: started with them, told which.
COMPANIONS: Final = {"outbox": ("postgres_pg", "rabbitmq")}
# Where each connecting plugin finds its real local server (registry_etcd: a private
# etcd, see ``etcd``), with start timeouts short enough that a bad value fails fast.
LOCAL_SERVERS: Final = {
    **{
        name: {
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "USERNAME": "postgres",
            "DATABASE": "test",
            "CONN_ATTEMPTS": "1",
            "CONN_TIMEOUT": "2s",
        }
        for name in ("postgres_gorm", "postgres_pg", "postgres_pgx")
    },
    "rabbitmq": {
        "HOST": "127.0.0.1",
        "PORT": "5672",
        "USERNAME": "guest",
        "PASSWORD": "guest",
        "CONNECT_TIMEOUT": "2s",
    },
    "redis": {"ADDR": "127.0.0.1:6379", "DIAL_TIMEOUT": "2"},
    "nats": {"ADDR": "127.0.0.1:4222", "CONNECT_TIMEOUT": "2s", "DRAIN_TIMEOUT": "1s"},
    "registry_etcd": {"DIAL_TIMEOUT": "2s"},
    "outbox": {"DATABASE": "postgres_pg", "BROKER": "rabbitmq", "STOP_TIMEOUT": "2s"},
}
CONNECTING_PLUGINS: Final = tuple(LOCAL_SERVERS)
# Never fuzzed at start: a start told to try a thousand times waits by design, and a
# stream of another name would be created on the shared NATS server, next to the one
# the other starts use (they would then fail on its subjects). The parse test covers them.
NOT_STARTED_WITH: Final = re.compile(r"_CONN_ATTEMPTS$|^FZ_NATS_STREAM$")
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
    *("nats://", "nats://u:p@h:99999", "nats://[::1", "127.0.0.1:99999", "h:0"),
    "/" + "x" * 5000,
)
# Values that parse but may still trip the start: not local, not found, edges of ranges.
RISKY: Final = (
    *("0", "1", "65535", "2147483647", "1ms", "24h", "0s", "localhost", "::", "[::1]"),
    *("10.255.255.1", "nonexistent.invalid", "guest", "/", "/a", "x", "true", "127.0.0.1"),
)
# The same, by the shape of the variable's default: most of them pass the config
# check, so the start itself meets them.
RISKY_BY_SHAPE: Final = (
    (re.compile(r"^-?\d+(\.\d+)?(ms|s|m|h)$"), ("1ms", "1s", "24h", "0s", "100ms", "3s")),
    (re.compile(r"^-?\d+$"), ("0", "1", "2", "100", "65535", "2147483647")),
    (re.compile(r"^\d+\.\d+$"), ("0.0", "0.5", "1.0", "2.0", "10.0")),
    (re.compile(r"^(true|false)$"), ("true", "false")),
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
    for name in plugins:
        module = SHIPPED[name]
        plugin = module.new_plugin(app.runtime, module.Options(name))
        # As generated code does: the lifecycle runs the hooks of provided plugins.
        app.runtime.plugin.provide(constant(plugin), provides=module.Plugin, name=name)
    return app


def variable_names(plugins: tuple[str, ...]) -> list[str]:
    """Every name the service reads, aliases included, as help knows them."""
    return sorted(variable_defaults(plugins))


def variable_defaults(plugins: tuple[str, ...]) -> dict[str, str]:
    """Every name the service reads, aliases included -> its default as help shows it."""
    variables = build({}, plugins).runtime.config.variables()
    return {name: str(v.default) for v in variables for name in (v.name, *v.aliases)}


def risky_values(default: str) -> st.SearchStrategy[str]:
    """Values of the shape of ``default`` (a duration, a number, ...), or of any shape."""
    for shape, risky in RISKY_BY_SHAPE:
        if shape.match(default):
            return st.sampled_from(risky)
    return st.sampled_from(RISKY)


ALL_PLUGINS: Final = tuple(SHIPPED)
ALL_NAMES: Final = variable_names(ALL_PLUGINS)
values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers().map(str),
    st.integers().map(lambda number: f"{number}ms"),
)


def names_in(text: str, names: Iterable[str]) -> list[str]:
    """The variables of ``names`` that ``text`` names, whole (not ``X_PORT`` in ``X_PORTS``)."""
    return [name for name in names if re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", text)]


def blames_what_was_set(issue: ConfigIssue, environ: Mapping[str, str]) -> bool:
    """The issue is about a variable ``environ`` sets: its own, or one its text names.

    A rule between two variables (a longest retry delay under the first) is
    reported under one and names the other; a whole model's problem carries
    the model's ``PREFIX_*`` label and names in its text what to change.
    """
    if issue.variable in environ:
        return True
    return bool(names_in(f"{issue.message} {issue.hint}", environ))


def check_issues(config: lbtoolkit.config.ConfigController, environ: Mapping[str, str]) -> int:
    """Assert every issue blames a variable ``environ`` set and the error lists it; count them."""
    issues = config.issues
    for issue in issues:
        assert issue.message, issue
        assert blames_what_was_set(issue, environ), (issue, sorted(environ))
    if not issues:
        config.raise_for_issues()
        return 0
    with pytest.raises(ConfigError) as raised:
        config.raise_for_issues()
    assert all(issue.variable in str(raised.value) for issue in issues)
    return len(issues)


def test_every_shipped_plugin_is_fuzzed() -> None:
    packages = {
        module.name
        for module in pkgutil.iter_modules(lbtoolkit.plugins.__path__)
        if not module.name.startswith("_")
    }
    assert set(SHIPPED) == packages
    # Each is started too: with nothing to connect to, or against its local server.
    assert set(SHIPPED) == {*QUIET_PLUGINS, *CONNECTING_PLUGINS}
    assert {"nats", "registry_etcd", "outbox"} <= set(SHIPPED)


def test_variables_come_from_the_services_config() -> None:
    assert len(ALL_NAMES) > 150
    assert f"{PREFIX}_SHUTDOWN_TIMEOUT" in ALL_NAMES
    assert f"{PREFIX}_FUZZ_GRPC_SERVER_PORT" in ALL_NAMES
    assert f"{PREFIX}_RABBITMQ_DRAIN_TIMEOUT" in ALL_NAMES
    assert f"{PREFIX}_POSTGRES_PG_SSLMODE" in ALL_NAMES  # an alias
    for name in ("NATS_PASSWORD", "NATS_TOKEN", "NATS_URL", "REGISTRY_ETCD_PASSWORD"):
        assert f"{PREFIX}_{name}" in ALL_NAMES
    assert f"{PREFIX}_OUTBOX_BATCH_SIZE" in ALL_NAMES


def test_parsing_any_value_raises_only_config_errors_naming_the_variable(
    figures: Figures,
) -> None:
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
        seen["problems"] += check_issues(config, environ)
        assert config.print_table(all=True)
        assert config.print_yaml(all=True)

    parse()
    figures.record_all(
        {
            "plugins": len(SHIPPED),
            "variables": len(ALL_NAMES),
            "examples": seen["examples"],
            "problems": seen["problems"],
        }
    )
    print(f"parse fuzz: {len(ALL_NAMES)} variables, {seen}")  # noqa: T201 - figures in -s runs
    assert seen["problems"] > 0


@pytest.fixture(scope="module")
def etcd() -> Iterator[PrivateEtcd]:
    """The registry's server: there is no shared etcd, so a private one serves every start."""
    with PrivateEtcd() as server:
        yield server


def started_plugins(plugin: str | None) -> tuple[str, ...]:
    """The plugins of a service started to try ``plugin`` (its companions included)."""
    chosen = () if plugin is None else (*COMPANIONS.get(plugin, ()), plugin)
    return (*QUIET_PLUGINS, *chosen)


def base_environment(plugins: tuple[str, ...], etcd: PrivateEtcd) -> dict[str, str]:
    """Loopback, any free port, the real local servers, short timeouts."""
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
        f"{PREFIX}_START_TIMEOUT": "10s",
    }
    for plugin in plugins:
        head = f"{PREFIX}_{plugin.upper()}_"
        environ |= {head + name: value for name, value in LOCAL_SERVERS.get(plugin, {}).items()}
    if "registry_etcd" in plugins:
        environ[f"{PREFIX}_REGISTRY_ETCD_ENDPOINTS"] = etcd.endpoint
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


async def start_and_stop(app: lbtoolkit.Service) -> tuple[str, BaseException | None]:
    """``("started", None)``, or the step that failed (``start``, ``stop``) and its error."""
    step = "start"
    try:
        async with asyncio.timeout(20):
            await app.start()
            step = "stop"
            await app.stop()
    except Exception as error:  # noqa: BLE001 - every error is examined by the caller
        return step, error
    return "started", None


def failed_plugins(text: str) -> set[str]:
    """The prefixes of the plugins ``text`` reports as failed (``plugin "redis" (redis)``)."""
    return set(re.findall(r'plugin "([^"]+)"', text))


def start_blame(text: str, fuzzed: Mapping[str, str], names: list[str]) -> str:
    """How a start error points at what was fuzzed: ``"variable"``, ``"plugin"`` or ``""``.

    ``variable``: it names a variable the example set. ``plugin``: it names a
    variable of the plugin that failed, and the example set one of that
    plugin's (a server refusing a value the plugin cannot tell apart, such
    as a database that does not exist behind a well-formed address).
    """
    if names_in(text, fuzzed):
        return "variable"
    for plugin in failed_plugins(text):
        head = f"{PREFIX}_{plugin.upper()}_"
        ours = [name for name in names if name.startswith(head)]
        if names_in(text, ours) and any(name.startswith(head) for name in fuzzed):
            return "plugin"
    return ""


def test_the_base_environment_starts_every_plugin(etcd: PrivateEtcd) -> None:
    """Without a fuzzed value every plugin starts: a start error below is the value's."""
    plugins = (*QUIET_PLUGINS, *CONNECTING_PLUGINS)
    step, error = asyncio.run(start_and_stop(build(base_environment(plugins, etcd), plugins)))
    assert error is None, (step, str(error))


def test_starting_with_bad_values_fails_naming_a_variable(
    etcd: PrivateEtcd, figures: Figures
) -> None:
    seen: Counter[str] = Counter()
    # A quarter of the starts try the servers' and the runtime's variables alone.
    plugin_choices = [None, None, None, *CONNECTING_PLUGINS]

    @settings(
        max_examples=scaled(quick=80, full=200),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.sampled_from(plugin_choices), st.data())
    def start(plugin: str | None, data: st.DataObject) -> None:
        plugins = started_plugins(plugin)
        defaults = variable_defaults(plugins)
        names = sorted(name for name in defaults if not NOT_STARTED_WITH.search(name))
        chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        fuzzed = {
            name: data.draw(
                risky_values(defaults[name])
                | risky_values(defaults[name])
                | st.sampled_from((*RISKY, *NASTY))
            )
            for name in chosen
        }
        app = build({**base_environment(plugins, etcd), **fuzzed}, plugins)
        step, error = asyncio.run(start_and_stop(app))
        seen["examples"] += 1
        seen[f"tried[{plugin or 'servers'}]"] += 1
        if error is None:
            seen["started"] += 1
            return
        if step == "stop":
            seen["started"] += 1
        text = str(error)
        assert not traceback_types(error), (fuzzed, traceback_types(error), text)
        assert isinstance(error, LbToolkitError), (fuzzed, repr(error))
        if isinstance(error, ConfigError):
            seen["refused_at_config"] += 1
            for issue in error.issues:
                assert blames_what_was_set(issue, fuzzed), (fuzzed, text)
            return
        seen[f"failed_at_{step}"] += 1
        seen[f"{step}_error[{type(error).__name__}]"] += 1
        blame = start_blame(text, fuzzed, names)
        assert blame, (fuzzed, text)
        seen[f"blamed_{blame}"] += 1

    start()
    figures.record_all(dict(sorted(seen.items())))
    print(f"start fuzz: {dict(seen)}")  # noqa: T201 - figures in -s runs
    assert seen["started"] > 0
    assert seen["refused_at_config"] > 0
    assert seen["failed_at_start"] > 0
