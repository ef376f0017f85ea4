"""No secret ever shows: canary values in every secret variable, searched for in every output.

Every shipped plugin is declared (found through the ``lbtoolkit.plugins``
entry points; a test fails for one without a prefix here), and every variable
its config model marks
secret (``SecretStr``: passwords, DSNs) gets a distinct random value. The
service then prints its help, fails to start against refused ports (one
plugin at a time, so each start error is seen), and runs against servers
that accept the canary credentials. Its output at DEBUG, its probes, its
metrics, each plugin's ``info()`` and the str/repr of every config object are
searched for every canary.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from lbtoolkit.plugins import new_test_runtime
from tests.faults.figures import Figures
from tests.faults.listeners import SilentListener
from tests.faults.processes import SERVICE, SERVICE_PREFIX, open_service
from tests.support.etcd import PrivateEtcd, enable_auth
from tests.support.servers import (
    LOOPBACK,
    STOP_TIMEOUT,
    PrivateRabbitMQ,
    PrivateRedis,
    free_port,
)

pytestmark = pytest.mark.faults

# Entry point -> the prefix it is declared under. postgres and postgres_pgx are
# other names of postgres_pg (the same plugin): declared once, as postgres_pg.
PREFIXES = {
    "postgres_gorm": "gorm",
    "postgres_pg": "pg",
    "redis": "cache",
    "rabbitmq": "queue",
    "nats": "bus",
    "centrifuge": "rt",
    "sentry": "sentry",
    "prometheus": "prom",
    "registry_etcd": "reg",
    "outbox": "box",
}


def shipped_entry_points() -> dict[str, str]:
    """Every entry point of ``lbtoolkit.plugins`` naming a package shipped in it -> its module."""
    return {
        entry.name: entry.value
        for entry in entry_points(group="lbtoolkit.plugins")
        if entry.value.startswith("lbtoolkit.plugins.")
    }


# Prefix -> entry point: every shipped plugin once.
PLUGINS = {prefix: entry for entry, prefix in PREFIXES.items() if entry in shipped_entry_points()}
# The plugins that connect somewhere, and so can be pointed at a refused port.
CONNECTING = ("gorm", "pg", "cache", "queue", "bus", "rt", "sentry", "reg")
Endpoints = dict[str, tuple[str, int]]  # plugin prefix -> where it connects
DECLARED = ",".join(f"{entry}:{prefix}" for prefix, entry in PLUGINS.items())
POSTGRES = (LOOPBACK, 5432)  # the shared server trusts every password: it accepts the canaries
POSTGRES_USER = "postgres"
ETCD_USER = "root"  # the user etcd's authentication is turned on with
CANARY_USERS = {
    "cache": "canary-cache",
    "rt": "canary-rt",
    "queue": "canary-queue",
    "bus": "canary-bus",
    "bus url": "canary-bus-url",
}
START_TIMEOUT = 30.0


def plugin_module(prefix: str) -> ModuleType:
    (entry,) = entry_points(group="lbtoolkit.plugins", name=PLUGINS[prefix])
    module: ModuleType = entry.load()
    return module


def secret_variables() -> dict[str, str]:
    """Every secret variable of the plugins' config models -> the prefix of its plugin."""
    runtime = new_test_runtime(SERVICE, env_prefix=SERVICE_PREFIX)
    for prefix in PLUGINS:
        module = plugin_module(prefix)
        module.new_plugin(runtime, module.Options(name=prefix))
    return {
        variable.name: prefix
        for variable in runtime.config.variables()
        if variable.secret
        for prefix in PLUGINS
        if variable.name.startswith(f"{SERVICE_PREFIX}_{prefix.upper()}_")
    }


@dataclass
class Canaries:
    """A random value per secret variable, and the environment built around them."""

    variables: dict[str, str]  # secret variable -> plugin prefix
    values: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = {name: f"canary{secrets.token_hex(12)}" for name in self.variables}

    def value(self, prefix: str, variable: str) -> str:
        return self.values[f"{SERVICE_PREFIX}_{prefix.upper()}_{variable}"]

    def environ(self, endpoints: Endpoints) -> dict[str, str]:
        def address(prefix: str) -> str:
            host, port = endpoints[prefix]
            return f"{host}:{port}"

        environ = {
            "LB_LOG_LEVEL": "DEBUG",
            "LB_SHUTDOWN_TIMEOUT": "10s",
            "LB_CACHE_ADDR": address("cache"),
            "LB_CACHE_USERNAME": CANARY_USERS["cache"],
            "LB_RT_REDIS_ADDR": address("rt"),
            "LB_RT_REDIS_USERNAME": CANARY_USERS["rt"],
            "LB_QUEUE_CONNECT_TIMEOUT": "2s",
            "LB_BUS_CONNECT_TIMEOUT": "2s",
            "LB_BUS_USERNAME": CANARY_USERS["bus"],
            "LB_REG_ENDPOINTS": address("reg"),
            "LB_REG_DIAL_TIMEOUT": "2s",
            "LB_REG_USERNAME": ETCD_USER,
            "LB_BOX_DATABASE": "pg",
            "LB_BOX_BROKER": "queue",
            "LB_SENTRY_CHECK_CONNECTION": "true",
        }
        dsn_shapes = {
            "gorm": f"postgresql://{POSTGRES_USER}:{{}}@{address('gorm')}/test",
            "pg": f"postgresql://{POSTGRES_USER}:{{}}@{address('pg')}/test",
            "queue": f"amqp://{CANARY_USERS['queue']}:{{}}@{address('queue')}/",
            "sentry": f"http://{{}}@{address('sentry')}/1",
        }
        # The URL carries a login of its own, next to USERNAME and PASSWORD: the
        # server accepts both, whichever the client sends.
        url_shapes = {"bus": f"nats://{CANARY_USERS['bus url']}:{{}}@{address('bus')}"}
        for prefix in ("gorm", "pg"):
            host, port = endpoints[prefix]
            variable = f"{SERVICE_PREFIX}_{prefix.upper()}_"
            environ |= {
                f"{variable}HOST": host,
                f"{variable}PORT": str(port),
                f"{variable}USERNAME": POSTGRES_USER,
                f"{variable}DATABASE": "test",
                f"{variable}CONN_ATTEMPTS": "1",
            }
        for name, prefix in self.variables.items():
            value = self.values[name]
            if name.endswith("_DSN"):
                if prefix not in dsn_shapes:
                    pytest.fail(f"{name}: no DSN shape known for plugin {PLUGINS[prefix]}")
                value = dsn_shapes[prefix].format(value)
            elif name.endswith("_URL"):
                if prefix not in url_shapes:
                    pytest.fail(f"{name}: no URL shape known for plugin {PLUGINS[prefix]}")
                value = url_shapes[prefix].format(value)
            environ[name] = value
        return environ

    def found_in(self, text: str) -> list[str]:
        """The secret variables whose canary shows in ``text``."""
        return [name for name, value in self.values.items() if value in text]


@dataclass
class Captures:
    """Every text the service showed, by where it came from."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str) -> None:
        self.texts[where] = text

    def leaks(self, canaries: Canaries) -> dict[str, list[str]]:
        found = {where: canaries.found_in(text) for where, text in self.texts.items()}
        return {where: names for where, names in found.items() if names}


@pytest.fixture(scope="module")
def canaries() -> Canaries:
    return Canaries(secret_variables())


@pytest.fixture(scope="module")
def endpoints(canaries: Canaries) -> Iterator[Endpoints]:
    with reachable_servers(canaries) as reachable:
        yield reachable


@contextlib.contextmanager
def reachable_servers(canaries: Canaries) -> Iterator[Endpoints]:
    """Private Redis, RabbitMQ, NATS and etcd accepting the canaries; a listener for Sentry.

    PostgreSQL is the shared server, which trusts every password.
    """
    users = [
        (CANARY_USERS["cache"], canaries.value("cache", "PASSWORD")),
        (CANARY_USERS["rt"], canaries.value("rt", "REDIS_PASSWORD")),
    ]
    acl: list[str] = []
    for user, password in users:
        acl += ["--user", user, "on", f">{password}", "~*", "&*", "+@all"]
    with (
        PrivateRedis(None, *acl) as redis,
        PrivateRabbitMQ() as rabbitmq,
        private_nats(
            {
                CANARY_USERS["bus"]: canaries.value("bus", "PASSWORD"),
                CANARY_USERS["bus url"]: canaries.value("bus", "URL"),
            }
        ) as nats_port,
        PrivateEtcd() as etcd,
        SilentListener() as sentry,
    ):
        user = CANARY_USERS["queue"]
        rabbitmq.ctl("add_user", user, canaries.value("queue", "DSN"))
        rabbitmq.ctl("set_permissions", "-p", "/", user, ".*", ".*", ".*")
        enable_auth(etcd, canaries.value("reg", "PASSWORD"))
        yield {
            "gorm": POSTGRES,
            "pg": POSTGRES,
            "cache": (LOOPBACK, redis.port),
            "rt": (LOOPBACK, redis.port),
            "queue": (LOOPBACK, rabbitmq.port),
            "bus": (LOOPBACK, nats_port),
            "reg": (LOOPBACK, etcd.port),
            "sentry": (LOOPBACK, sentry.port),
        }


@contextlib.contextmanager
def private_nats(users: dict[str, str]) -> Iterator[int]:
    """A NATS server with JetStream accepting ``users`` (name -> password); yields its port.

    The shared server takes no login: a private one is the only way to see the
    canary accepted. Stopped by its PID.
    """
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lbtoolkit-nats-") as temporary:
        work = Path(temporary)
        config = work / "nats.conf"
        logins = ", ".join(
            f'{{ user: "{user}", password: "{password}" }}' for user, password in users.items()
        )
        config.write_text(
            f'listen: "{LOOPBACK}:{port}"\n'
            f'jetstream {{ store_dir: "{work / "js"}" }}\n'
            f"authorization {{ users = [ {logins} ] }}\n"
        )
        with (work / "nats.log").open("ab") as log:
            process = subprocess.Popen(
                ["nats-server", "-c", str(config)],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _listening(port):
                assert process.poll() is None, (work / "nats.log").read_text()
                assert time.monotonic() < deadline, "private NATS did not listen"
                time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 1):
        return True
    return False


def test_every_shipped_plugin_is_declared() -> None:
    """A plugin added to ``lbtoolkit.plugins`` is declared here, or this fails naming it."""
    declared = {plugin_module(prefix).new_plugin for prefix in PLUGINS}
    for name, value in shipped_entry_points().items():
        (entry,) = entry_points(group="lbtoolkit.plugins", name=name)
        module = entry.load()
        assert module.new_plugin in declared, f"{name} ({value}): give it a prefix in PREFIXES"
    assert {"bus", "reg", "box"} <= set(PLUGINS)


def test_every_secret_variable_is_found_in_the_models(canaries: Canaries, figures: Figures) -> None:
    """The search below covers what it must: each plugin with a credential has its secrets."""
    figures.record("secret_variables", len(canaries.variables))
    assert {
        "LB_GORM_DSN", "LB_GORM_PASSWORD", "LB_PG_DSN", "LB_PG_PASSWORD", "LB_CACHE_PASSWORD",
        "LB_QUEUE_DSN", "LB_QUEUE_PASSWORD", "LB_RT_REDIS_PASSWORD", "LB_SENTRY_DSN",
        "LB_BUS_URL", "LB_BUS_PASSWORD", "LB_BUS_TOKEN", "LB_REG_PASSWORD",
    } <= set(canaries.variables)  # fmt: skip


def test_no_canary_shows_in_any_output(
    canaries: Canaries, endpoints: Endpoints, tmp_path: Path, figures: Figures
) -> None:
    captures = Captures()
    reachable = canaries.environ(endpoints)
    # The search finds every canary where it is (a DSN holds its canary inside).
    assert canaries.found_in(repr(reachable)) == list(canaries.values)
    for args in (("help", "--all"), ("help", "--all", "--yaml"), ("--help",)):
        capture_help(captures, tmp_path / "-".join(args).strip("-"), reachable, args)
    for prefix in CONNECTING:
        refused = canaries.environ(endpoints | {prefix: (LOOPBACK, free_port())})
        capture_failed_start(captures, tmp_path / f"refused-{prefix}", refused, prefix)
    capture_running(captures, tmp_path / "running", reachable)
    capture_in_process(captures, reachable)
    figures.record("secret_variables", len(canaries.variables))
    figures.record("captures", len(captures.texts))
    figures.record("characters_searched", sum(map(len, captures.texts.values())))
    figures.record("lines_searched", sum(text.count("\n") for text in captures.texts.values()))
    assert captures.leaks(canaries) == {}


def capture_help(
    captures: Captures, directory: Path, environ: dict[str, str], args: tuple[str, ...]
) -> None:
    with open_service(directory, environ, args=args, plugins=DECLARED) as service:
        code = service.wait_exit(START_TIMEOUT)
        captures.add(f"{' '.join(args)}: stdout", service.stdout())
        captures.add(f"{' '.join(args)}: stderr", service.stderr())
    assert code == 0, service.stderr()
    # With --all the secret variables are listed (their defaults masked).
    assert ("LB_GORM_PASSWORD" in service.stdout()) == ("--all" in args)


def capture_failed_start(
    captures: Captures, directory: Path, environ: dict[str, str], prefix: str
) -> None:
    with open_service(directory, environ, plugins=DECLARED) as service:
        code = service.wait_exit(START_TIMEOUT)
        stderr = service.stderr()
        captures.add(f"{prefix} refused: stdout", service.stdout())
        captures.add(f"{prefix} refused: stderr", stderr)
    assert code == 1, stderr
    # The start failed where it was meant to: at this plugin.
    assert f'plugin "{prefix}"' in stderr, stderr


def capture_running(captures: Captures, directory: Path, environ: dict[str, str]) -> None:
    with open_service(directory, environ, plugins=DECLARED) as service:
        ports = service.wait_started(START_TIMEOUT)
        probes = f"http://{LOOPBACK}:{ports.probes}"
        with httpx.Client(timeout=10) as http:
            deadline = time.monotonic() + START_TIMEOUT
            while (ready := http.get(f"{probes}/_healthz/readiness")).status_code != 200:
                assert time.monotonic() < deadline, ready.text
                time.sleep(0.05)
            answers = {
                "readiness": ready,
                "liveness": http.get(f"{probes}/_healthz/liveness"),
                "metrics": http.get(f"{probes}/metrics"),
                "route": http.get(f"http://{LOOPBACK}:{ports.http}/v1/users/1"),
                "no route": http.get(f"http://{LOOPBACK}:{ports.http}/nowhere"),
            }
        service.process.send_signal(signal.SIGTERM)
        code = service.wait_exit(START_TIMEOUT)
        for name, answer in answers.items():
            captures.add(f"running: {name}", f"{answer.headers}\n{answer.text}")
        captures.add("running: stdout (info of every plugin)", service.stdout())
        captures.add("running: stderr", service.stderr())
    assert code == 0, service.stderr()
    assert all(f"{SERVICE_PREFIX}_{prefix.upper()}_" in service.stdout() for prefix in PLUGINS)


def capture_in_process(captures: Captures, environ: dict[str, str]) -> None:
    """str and repr of every config object and plugin; ``info()``; config issues, if any."""
    runtime = new_test_runtime(SERVICE, env_prefix=SERVICE_PREFIX, environ=environ)
    for prefix in PLUGINS:
        module = plugin_module(prefix)
        plugin = module.new_plugin(runtime, module.Options(name=prefix))
        texts = [repr(plugin), str(plugin), plugin.info()]
        for config in runtime.config.parsed(prefix):
            texts += [str(config), repr(config), config.model_dump_json(), str(config.model_dump())]
        captures.add(f"in process: {prefix}", "\n".join(texts))
    assert runtime.config.issues == []  # every canary value is a valid one
    captures.add("in process: table", runtime.config.print_table(all=True))
    captures.add("in process: yaml", runtime.config.print_yaml(all=True))
