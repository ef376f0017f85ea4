"""``lbtoolkit check``: every problem that would stop the start, found without starting."""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner

from lbtoolkit.cli import app

runner = CliRunner()
SERVICE = """
    import lbtoolkit
    from greeter_demo.gen import greeter_pb2
    from greeter_demo.gen.greeter_toolkit import new_greeter_service, register_greeter_rpc_server


    class Ledger:
        pass


    class Greeter:
        def __init__(self, ledger: Ledger) -> None:
            self.ledger = ledger


    class Wired:
        async def say_hello(self, request, context):
            return greeter_pb2.SayHelloResponse()

        async def set_greeting(self, request, context):
            return greeter_pb2.SetGreetingResponse()


    def build(implementation=Greeter) -> lbtoolkit.Service:
        app = new_greeter_service("greeter", env_prefix="T")
        register_greeter_rpc_server(app, implementation)
        return app


    def wired() -> lbtoolkit.Service:
        return build(Wired)
"""


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


LOOPBACK = {
    "T_GREETER_GRPC_SERVER_LISTEN": "127.0.0.1",
    "T_GREETER_SERVER_LISTEN": "127.0.0.1",
    "T_PROBES_SERVER_LISTEN": "127.0.0.1",
    "T_GREETER_SERVER_PORT": "0",
    "T_PROBES_SERVER_PORT": "0",
    "T_GREETER_GRPC_SERVER_PORT": "0",
}


def test_check_lists_a_missing_dependency_a_bad_variable_and_a_taken_port(
    service_module: Callable[[str], str], taken_port: int
) -> None:
    name = service_module(SERVICE)
    environ = {**LOOPBACK, "T_LOG_LEVEL": "LOUD", "T_GREETER_GRPC_SERVER_PORT": str(taken_port)}

    result = runner.invoke(app, ["check", f"{name}:build"], env=environ)

    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 3, result.stdout
    assert problems[0].startswith("problem: config: T_LOG_LEVEL: ")
    assert "LOUD" in problems[0]
    assert problems[1].startswith(f"problem: dependencies: no provider for {name}.Ledger")
    assert problems[2] == (
        f"problem: port 127.0.0.1:{taken_port} of grpc server greeter: already in use by "
        "another process; set T_GREETER_GRPC_SERVER_PORT to another port (0: any free one)"
    )
    assert (
        result.stderr == f"error: {name}:build: 3 problem(s) would stop the start (listed above)\n"
    )


def test_check_of_a_sound_service_prints_the_order_and_the_ports(
    service_module: Callable[[str], str],
) -> None:
    name = service_module(SERVICE)
    grpc_port, http_port = free_port(), free_port()
    environ = {
        **LOOPBACK,
        "T_GREETER_GRPC_SERVER_PORT": str(grpc_port),
        "T_GREETER_SERVER_PORT": str(http_port),
        "T_PROBES_SERVER_PORT": str(http_port),
    }

    result = runner.invoke(app, ["check", f"{name}:wired"], env=environ)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines[lines.index("start order:") + 1 : lines.index("stop order:")]
    stop = lines[lines.index("stop order:") + 1 : lines.index("ports:")]
    assert start[0] == '  1. plugins pre_start: plugin "cache"'
    assert start[3:5] == [
        "  4. probes and metrics servers: probes server",
        "  5. servers: grpc server greeter, http server greeter",
    ]
    assert stop[0] == "  1. servers (drain): http server greeter, grpc server greeter"
    assert stop[3] == '  4. plugins on_stop: plugin "cache"'
    assert lines[lines.index("ports:") + 1 :] == [
        f"  grpc server greeter: 127.0.0.1:{grpc_port}  [T_GREETER_GRPC_SERVER_PORT]",
        f"  http server greeter: 127.0.0.1:{http_port}  [T_GREETER_SERVER_PORT]",
        (
            f"  probes server: 127.0.0.1:{http_port} (shared with http server greeter)  "
            "[T_PROBES_SERVER_PORT]"
        ),
        f"{name}:wired: ready to start",
    ]


def test_check_reports_a_port_used_twice(service_module: Callable[[str], str]) -> None:
    name = service_module(SERVICE)
    port = free_port()
    environ = {
        **LOOPBACK,
        "T_GREETER_GRPC_SERVER_PORT": str(port),
        "T_GREETER_SERVER_PORT": str(port),
    }

    result = runner.invoke(app, ["check", f"{name}:wired"], env=environ)

    assert result.exit_code == 1
    assert (
        f"problem: port {port}: both grpc server greeter (T_GREETER_GRPC_SERVER_PORT) and "
        "http server greeter (T_GREETER_SERVER_PORT) listen on it"
    ) in result.stdout.splitlines()


WAVES = """
    import lbtoolkit

    HOOKS = []  # every hook that ran; check must run none


    class Component:
        async def pre_start(self):
            HOOKS.append(f"{type(self).__name__}.pre_start")

        async def on_start(self):
            HOOKS.append(f"{type(self).__name__}.on_start")

        async def on_stop(self):
            HOOKS.append(f"{type(self).__name__}.on_stop")


    class Db(Component):
        pass


    class Cache(Component):
        pass


    class Mailer(Component):
        depends_on = (Db,)


    class Repository(Component):
        def __init__(self, db: Db) -> None:
            self.db = db


    class Api(Component):
        def __init__(self, repository: Repository) -> None:
            self.repository = repository


    def build() -> lbtoolkit.Service:
        app = lbtoolkit.new_service("waves", env_prefix="W")
        app.runtime.plugin.provide_value(Db(), name="db")
        app.runtime.plugin.provide_value(Cache(), name="cache")
        app.runtime.plugin.provide_value(Mailer(), name="mail")
        app.register_package(Repository, Api)
        return app


    def cyclic() -> lbtoolkit.Service:
        app = lbtoolkit.new_service("waves", env_prefix="W")
        app.runtime.plugin.provide_value(Db(), name="db", depends_on=[Cache])
        app.runtime.plugin.provide_value(Cache(), name="cache", depends_on=[Db])
        return app
"""
WAVES_ENVIRON = {"W_PROBES_SERVER_LISTEN": "127.0.0.1", "W_PROBES_SERVER_PORT": "0"}


def test_check_prints_the_start_order_wave_by_wave_and_runs_no_hook(
    service_module: Callable[[str], str],
) -> None:
    name = service_module(WAVES)

    result = runner.invoke(app, ["check", f"{name}:build"], env=WAVES_ENVIRON)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[: lines.index("stop order:") + 9] == [
        "start order:",
        '  1. plugins pre_start, wave 1: plugin "db", plugin "cache"',
        '  2. plugins pre_start, wave 2: plugin "mail"',
        "  3. packages pre_start, wave 1: package Repository",
        "  4. packages pre_start, wave 2: package Api",
        "  5. invokes: -",
        "  6. probes and metrics servers: -",
        "  7. servers: -",
        '  8. plugins on_start, wave 1: plugin "db", plugin "cache"',
        '  9. plugins on_start, wave 2: plugin "mail"',
        "  10. packages on_start, wave 1: package Repository",
        "  11. packages on_start, wave 2: package Api",
        "  12. user start hooks: -",
        "stop order:",
        "  1. servers (drain): -",
        "  2. user stop hooks: -",
        "  3. packages on_stop, wave 2: package Api",
        "  4. packages on_stop, wave 1: package Repository",
        '  5. plugins on_stop, wave 2: plugin "mail"',
        '  6. plugins on_stop, wave 1: plugin "cache", plugin "db"',
        "  7. probes and metrics servers: -",
        "  8. clients, dependency container",
    ]
    module = importlib.import_module(name)
    assert module.HOOKS == []


def test_check_reports_a_dependency_cycle(service_module: Callable[[str], str]) -> None:
    name = service_module(WAVES)

    result = runner.invoke(app, ["check", f"{name}:cyclic"], env=WAVES_ENVIRON)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    problems = [line for line in lines if line.startswith("problem: ")]
    assert problems == [
        (
            'problem: dependencies: start order has a cycle: plugin "db" \N{RIGHTWARDS ARROW} '
            'plugin "cache" \N{RIGHTWARDS ARROW} plugin "db"'
        )
    ]
    # Without waves the order is the declaration order.
    assert '  1. plugins pre_start: plugin "db", plugin "cache"' in lines
    assert result.stderr == (
        f"error: {name}:cyclic: 1 problem(s) would stop the start (listed above)\n"
    )


TIMELINE = """
    import asyncio

    import lbtoolkit

    HOOKS = []  # every hook that ran, in order


    class Component:
        fail_on_start = False

        async def pre_start(self):
            # Long enough for the wave-1 pre_starts to overlap visibly in the table.
            await asyncio.sleep(0.02)
            HOOKS.append(f"{type(self).__name__}.pre_start")

        async def on_start(self):
            HOOKS.append(f"{type(self).__name__}.on_start")
            if self.fail_on_start:
                raise RuntimeError("the mail relay refused the login")

        async def on_stop(self):
            HOOKS.append(f"{type(self).__name__}.on_stop")


    class Db(Component):
        pass


    class Cache(Component):
        pass


    class Mailer(Component):
        depends_on = (Db,)


    def build(mailer_fails=False) -> lbtoolkit.Service:
        app = lbtoolkit.new_service("timeline", env_prefix="W")
        mailer = Mailer()
        mailer.fail_on_start = mailer_fails
        app.runtime.plugin.provide_value(Db(), name="db")
        app.runtime.plugin.provide_value(Cache(), name="cache")
        app.runtime.plugin.provide_value(mailer, name="mail")
        return app


    def failing() -> lbtoolkit.Service:
        return build(mailer_fails=True)
"""


def timeline_rows(stdout: str) -> list[list[str]]:
    """The table's rows after ``start-up timeline:``, split into cells (the bar dropped)."""
    lines = stdout.splitlines()
    table = lines[lines.index("start-up timeline:") + 1 :]
    assert table[0].split()[:3] == ["start", "ms", "end"], stdout
    rows = []
    for line in table[1:]:
        if "|" not in line:
            break
        rows.append(line.split("|")[0].split())
    return rows


def test_check_timeline_starts_prints_the_timeline_and_stops(
    service_module: Callable[[str], str],
) -> None:
    name = service_module(TIMELINE)

    result = runner.invoke(app, ["check", f"{name}:build", "--timeline"], env=WAVES_ENVIRON)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines.index(f"{name}:build: ready to start") < lines.index(
        f"starting {name}:build (connecting to its servers, listening on the ports above)"
    )
    rows = timeline_rows(result.stdout)
    # start, end, took, outcome, wave, step (2 words), owner (2 words), hook
    pre_starts = {" ".join(r[7:9]): r for r in rows if r[-1] == "pre_start"}
    assert set(pre_starts) == {'plugin "db"', 'plugin "cache"', 'plugin "mail"'}
    assert {r[3] for r in rows} == {"ok"}
    assert [pre_starts[p][4] for p in ('plugin "db"', 'plugin "cache"', 'plugin "mail"')] == [
        "1",
        "1",
        "2",
    ]
    # The second wave began only after the first one ended.
    assert float(pre_starts['plugin "mail"'][0]) >= float(pre_starts['plugin "db"'][1])
    assert lines[-1] == f"{name}:build: started and stopped"
    module = importlib.import_module(name)
    # Started for real, then stopped: every stop hook ran too.
    assert sorted(h for h in module.HOOKS if h.endswith("on_stop")) == [
        "Cache.on_stop",
        "Db.on_stop",
        "Mailer.on_stop",
    ]


def test_check_timeline_of_a_failed_start_shows_the_failure_and_the_rollback(
    service_module: Callable[[str], str],
) -> None:
    name = service_module(TIMELINE)

    result = runner.invoke(app, ["check", f"{name}:failing", "--timeline"], env=WAVES_ENVIRON)

    assert result.exit_code == 1
    rows = timeline_rows(result.stdout)
    failed = [r for r in rows if r[3] == "failed"]
    assert [" ".join(r[-3:]) for r in failed] == ['plugin "mail" on_start']
    rollback = {" ".join(r[-3:]) for r in rows if "rollback" in r}
    assert {'plugin "db" on_stop', 'plugin "cache" on_stop'} <= rollback
    assert result.stderr.startswith(f"error: {name}:failing: the start failed: ")
    assert "the mail relay refused the login" in result.stderr
    assert f"{name}:failing: started and stopped" not in result.stdout


def test_check_timeline_starts_nothing_when_a_check_fails(
    service_module: Callable[[str], str],
) -> None:
    name = service_module(TIMELINE)

    result = runner.invoke(
        app, ["check", f"{name}:build", "--timeline"], env={**WAVES_ENVIRON, "W_LOG_LEVEL": "LOUD"}
    )

    assert result.exit_code == 1
    assert "start-up timeline:" not in result.stdout
    assert importlib.import_module(name).HOOKS == []
